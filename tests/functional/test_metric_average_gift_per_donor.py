"""Average gift per donor: a metric compared against control, added through the registry only,
and shown in the report's JSON, its CSV and the results page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

import pytest
from flask.testing import FlaskClient

from service.domain.report_model import COMPARISON_COLUMNS
from service.jobs.exports.rows import COLUMN_NAMES
from service.jobs.exports.runner import ExportRunner
from service.settings import Settings
from service.stats.compare import Comparison, compare
from service.stats.summaries import SampleStats
from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.functional.test_report_api import URL, as_dict, report_client, started

__all__ = ["report_client", "started"]  # fixtures, used by name
Auth = Callable[[str], dict[str, str]]
METRIC = "average_gift_per_donor"
GUARDRAILS = ("close_rate", "remind_later_rate", "already_donated_rate")


def expected() -> Comparison:
    # `started`: control has 4 donors of 10.0; five-dollars 6 donors, one of 500 capped to 100
    # (revenue_cap 100) and five of 20: the donors' capped gifts are the sample.
    control = SampleStats.of_values([10.0] * 4)
    treatment = SampleStats.of_values([100.0] + [20.0] * 5)
    result = compare(control, treatment, alpha=0.05, sequential=False)
    assert isinstance(result, Comparison)
    return result


def test_json_has_the_value_and_comparison(started: FlaskClient, auth: Auth) -> None:
    body = as_dict(started.get(URL, headers=auth("viewer")).json)
    control, treatment = (v["metrics"][METRIC] for v in body["variants"])
    assert control == {"value": 10.0, "vs_control": None}
    assert treatment["value"] == pytest.approx(200.0 / 6)
    want = expected()
    vs = treatment["vs_control"]
    assert vs["relative_lift"] == pytest.approx(want.lift)
    assert vs["ci"] == pytest.approx(list(want.ci))
    assert vs["p_value"] == pytest.approx(want.p_value)
    assert vs["absolute_difference"] == pytest.approx(200.0 / 6 - 10.0)


def test_csv_has_its_columns(started: FlaskClient, auth: Auth) -> None:
    response = started.get(f"{URL}.csv", headers=auth("viewer"))
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))
    assert rows[0][METRIC] == "10.0" and rows[0][f"{METRIC}_relative_lift"] == ""
    assert float(rows[1][f"{METRIC}_relative_lift"]) == pytest.approx(expected().lift)
    assert float(rows[1][f"{METRIC}_ci_low"]) == pytest.approx(expected().ci[0])


def test_results_page_shows_it(started: FlaskClient, services: Services) -> None:
    log_in(started, make_user(services, "viewer"))
    html = started.get("/dashboard/experiments/monthly-ask").get_data(as_text=True)
    variants = html[html.index('id="variant-table"') : html.index('id="comparison-table"')]
    assert "Average gift per donor" in variants and "$33.33" in variants
    comparisons = html[html.index('id="comparison-table"') :]
    assert "average gift per donor</th><td>five-dollars" in comparisons


def test_export_rows_carry_it_at_the_end(
    started: FlaskClient, services: Services, settings: Settings
) -> None:
    # Added after the first metrics, so after their columns; later metrics come after it,
    # then the e-mail reminders' columns.
    at = COLUMN_NAMES.index(METRIC)
    assert COLUMN_NAMES[at : at + 10] == (METRIC, *(f"{METRIC}_{n}" for n in COMPARISON_COLUMNS))
    assert COLUMN_NAMES[at + 10 : COLUMN_NAMES.index("reminder_signups")] == tuple(
        column
        for name in GUARDRAILS
        for column in (name, *(f"{name}_{n}" for n in COMPARISON_COLUMNS))
    )
    [stored] = services.experiments.find()
    table = ExportRunner(services.engine, settings).table(
        stored, run_id=None, period_to=date(2026, 11, 27), now=services.clock()
    )
    control, treatment = (row for row in table.rows if row["row_type"] == "summary")
    assert control[METRIC] == 10.0 and control[f"{METRIC}_relative_lift"] is None
    assert treatment[f"{METRIC}_relative_lift"] == pytest.approx(expected().lift)
