"""The report's query parameters, checked once for the admin API and the dashboard."""

from __future__ import annotations

from datetime import date

import pytest

from service.domain.errors import InvalidRequest
from service.domain.report_query import report_params


def test_no_parameters_mean_the_whole_experiment_unsegmented() -> None:
    assert report_params({}) == (None, None, None)
    assert report_params({"from": "", "to": "", "segment": ""}) == (None, None, None)


def test_days_and_a_segment_are_read() -> None:
    args = {"from": "2026-03-01", "to": "2026-03-02", "segment": "device"}
    assert report_params(args) == (date(2026, 3, 1), date(2026, 3, 2), "device")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"from": "2026-3-1"}, "from"),
        ({"to": "2026-03-\u0660\u0661"}, "to"),  # Arabic-Indic digits
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"segment": "browser"}, "segment"),
    ],
)
def test_a_bad_parameter_is_named(args: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        report_params(args)
    assert set(caught.value.fields) == {field}
