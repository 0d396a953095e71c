"""The report's e-mail reminder section (service/domain/report_reminders.py): when it
appears, and that its two per-visitor metrics are compared exactly as the report's other
metrics are, in the experiment's engine."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from service.domain.arm_totals import ArmTotals, ReminderTotals
from service.domain.experiment import Experiment
from service.domain.report import build_report
from service.domain.report_csv import csv_columns, render_csv
from service.domain.report_model import (
    Report,
    VsBayesian,
    VsError,
    VsFrequentist,
    report_json,
    report_json_schema,
)
from service.domain.report_reminders import CONTROL_SNOOZES
from service.jobs.exports.rows import COLUMN_NAMES, build_table
from service.schemas.experiment import parse_experiment
from service.stats.compare import Comparison, compare
from service.stats.summaries import SampleStats
from tests.support import REMINDER_OFFER, banner, experiment_doc

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)
CONTROL = ArmTotals("control", visitors=1000, converters=30)
TREATMENT = ArmTotals("five-dollars", visitors=1000, converters=36)
# Reminder revenue per visitor: n = the arm's exposed visitors, Σx and Σx² over them.
REMINDED = [
    ReminderTotals("control", 40, 30, 25, 9, 38, 8, 9, 140.0, 120.0, 2900.0),
    ReminderTotals("five-dollars", 60, 50, 44, 20, 55, 15, 17, 290.0, 250.0, 6100.0),
]


def experiment(offers: bool = True, **analysis: Any) -> Experiment:
    offering = banner() | ({"reminder": REMINDER_OFFER} if offers else {})
    return parse_experiment(
        experiment_doc(
            analysis=analysis,
            variants=[
                {"key": "control", "weight": 50, "banner": offering},
                {"key": "five-dollars", "weight": 50, "banner": offering},
            ],
        )
    )


def report(
    exp: Experiment, reminded: list[ReminderTotals], arms: tuple[ArmTotals, ...] = ()
) -> Report:
    return build_report(
        exp,
        arms or (CONTROL, TREATMENT),
        [],
        generated_at=NOW,
        start=None,
        end=None,
        segment=None,
        reminders=reminded,
    )


def test_no_section_without_an_offer_or_sign_ups() -> None:
    assert report(experiment(offers=False), []).reminders is None
    assert "reminders" not in report_json(report(experiment(offers=False), []))


def test_an_offer_without_sign_ups_shows_zeros() -> None:
    section = report(experiment(), []).reminders
    assert section is not None and section.attribution_days == 7
    assert [(r.variant, r.signups, r.signup_rate.value) for r in section.variants] == [
        ("control", 0, 0.0),
        ("five-dollars", 0, 0.0),
    ]


def test_sign_ups_show_even_once_no_variant_offers_a_reminder_any_more() -> None:
    section = report(experiment(offers=False), REMINDED).reminders
    assert section is not None and section.variants[1].sent == 44


def test_frequentist_comparisons_are_the_engines_on_per_visitor_samples() -> None:
    section = report(experiment(), REMINDED).reminders
    assert section is not None
    control, treatment = section.variants
    assert (treatment.signups, treatment.confirmations, treatment.sent, treatment.clicks) == (
        60,
        50,
        44,
        20,
    )
    assert (treatment.donors_after_reminder, treatment.donations_after_reminder) == (15, 17)
    assert treatment.revenue_after_reminder == 290.0
    assert control.signup_rate.value == pytest.approx(38 / 1000)
    assert treatment.revenue_after_reminder_per_visitor.value == pytest.approx(250 / 1000)
    expected = compare(
        SampleStats.proportion(1000, 38),
        SampleStats.proportion(1000, 55),
        alpha=0.05,
        sequential=False,
    )
    assert isinstance(expected, Comparison)
    vs = treatment.signup_rate.vs_control
    assert isinstance(vs, VsFrequentist)
    assert vs.relative_lift == pytest.approx(expected.lift)
    assert vs.ci == pytest.approx(expected.ci)
    assert vs.p_value == pytest.approx(expected.p_value)


def test_revenue_after_a_reminder_is_compared_as_revenue_per_visitor_is() -> None:
    """The same n, Σx and Σx² as the report's revenue_per_visitor metric gives the same
    comparison, in either engine."""
    for engine, kind in (("frequentist", VsFrequentist), ("bayesian", VsBayesian)):
        arms = (
            ArmTotals(
                "control", visitors=1000, revenue_capped=120.0, revenue_capped_squares=2900.0
            ),
            ArmTotals(
                "five-dollars", visitors=1000, revenue_capped=250.0, revenue_capped_squares=6100.0
            ),
        )
        got = report(experiment(engine=engine), REMINDED, arms)
        assert got.reminders is not None
        mine = got.reminders.variants[1].revenue_after_reminder_per_visitor
        theirs = got.variants[1].metrics["revenue_per_visitor"]
        assert isinstance(mine.vs_control, kind)
        assert mine == theirs


def test_bayesian_reports_chance_to_beat_control_only() -> None:
    body = report_json(report(experiment(engine="bayesian"), REMINDED))
    vs = body["reminders"]["variants"][1]["signup_rate"]["vs_control"]
    assert set(vs) == {"relative_lift", "ci", "chance_to_beat_control", "risk"}
    assert vs["chance_to_beat_control"] > 0.9  # 5.5 % against 3.8 % of 1,000 each
    assert body["reminders"]["variants"][0]["signup_rate"]["vs_control"] is None


def test_the_schema_describes_the_section() -> None:
    for reminded in ([], REMINDED):
        body = report_json(report(experiment(), reminded))
        jsonschema.validate(body, report_json_schema())
    schema = report_json_schema()
    assert "reminders" not in schema.get("required", [])


def test_csv_appends_the_reminder_columns_after_the_metrics() -> None:
    exp = experiment()
    columns = csv_columns(exp.analysis.engine)
    first = columns.index("reminder_signups")
    assert columns[first - 1] == "already_donated_rate_error"  # existing columns do not move
    text = render_csv("monthly-ask", report(exp, REMINDED)).decode()
    control, row = csv.DictReader(io.StringIO(text))
    assert row["reminder_sent"] == "44" and row["reminder_revenue_after_reminder"] == "290.0"
    assert float(row["reminder_signup_rate_relative_lift"]) == pytest.approx(55 / 38 - 1)
    assert control["reminder_signups"] == "40"
    assert control["reminder_signup_rate_relative_lift"] == ""


def test_export_files_append_the_reminder_columns() -> None:
    earlier = COLUMN_NAMES.index("already_donated_rate_error")
    assert COLUMN_NAMES[earlier + 1] == "reminder_signups"
    assert COLUMN_NAMES[-1] == "reminder_revenue_after_reminder_per_visitor_error"
    exp = experiment()
    table = build_table(
        exp,
        report(exp, REMINDED),
        [],
        run_id=1,
        first_day=NOW.date(),
        period_to=NOW.date(),
        generated_at=NOW,
    )
    control, treatment = table.rows
    assert treatment["reminder_sent"] == 44 and treatment["reminder_clicks"] == 20
    assert treatment["reminder_revenue_after_reminder_per_visitor"] == pytest.approx(0.25)
    assert control["reminder_signup_rate_relative_lift"] is None


def test_a_snoozing_control_has_nothing_to_be_relative_to() -> None:
    offering = banner() | {"reminder": REMINDER_OFFER}
    exp = parse_experiment(
        experiment_doc(
            variants=[
                {"key": "control", "weight": 50, "banner": banner()},
                {"key": "five-dollars", "weight": 50, "banner": offering},
            ]
        )
    )
    section = report(exp, REMINDED[1:]).reminders
    assert section is not None
    vs = section.variants[1].signup_rate.vs_control
    assert isinstance(vs, VsError) and vs.error == CONTROL_SNOOZES
    assert section.variants[1].signup_rate.value == pytest.approx(55 / 1000)
