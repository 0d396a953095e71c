"""Numbers and days read from dashboard forms: anything typed gives a usable value or None,
never an exception, and what comes back is something the code after it can compute with."""

from __future__ import annotations

import math
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from service.dashboard import form_values


@given(st.text())
def test_any_text_reads_as_a_bounded_value_or_none(raw: str) -> None:
    whole = form_values.whole_number(raw)
    assert whole is None or 0 <= whole < 10**18
    number = form_values.decimal(raw)
    assert number is None or math.isfinite(number)
    day = form_values.day(raw)
    if day is not None:
        # A report adds a day to the last one; a page steps a year back from it.
        assert day + timedelta(days=1) and day - timedelta(days=366)


def test_only_ascii_digits_are_numbers() -> None:
    for raw in ("\u00b2", "\u0661\u0662", "\U0001d7d9", "1_000", "0x10", "9" * 19, "nan", "inf"):
        assert form_values.whole_number(raw) is None, raw
    assert form_values.whole_number(" 42 ") == 42
    assert form_values.integer("-3") == -3
    assert form_values.decimal("1e400") is None
    assert form_values.decimal("\u0661.5") is None
    assert form_values.decimal("2.5e-3") == 0.0025


def test_days_stay_inside_the_range_reports_can_compute_with() -> None:
    assert form_values.day("2026-11-28") == date(2026, 11, 28)
    for raw in ("9999-12-31", "0001-01-01", "1969-12-31", "2026-02-30", "20261128", "2026-W48-1"):
        assert form_values.day(raw) is None, raw
    assert form_values.day("9998-12-31") == form_values.LATEST_DAY
