"""Holm-Bonferroni adjusted p-values."""

from __future__ import annotations

import pytest

from service.stats.corrections import holm_adjust


def test_textbook_example() -> None:
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> max so far 0.06
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_one_p_value_is_unchanged_and_none_is_empty() -> None:
    assert holm_adjust([0.03]) == [0.03]
    assert holm_adjust([]) == []


def test_adjusted_values_are_capped_at_one_and_never_below_the_raw_ones() -> None:
    raw = [0.6, 0.2, 0.9, 0.001, 0.2]
    adjusted = holm_adjust(raw)
    assert all(a >= r for a, r in zip(adjusted, raw, strict=True))
    assert max(adjusted) == 1.0
    assert adjusted[1] == adjusted[4]  # ties get the same adjusted value


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [1.2], [-0.01]])
def test_invalid_p_values_raise(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        holm_adjust(bad)
