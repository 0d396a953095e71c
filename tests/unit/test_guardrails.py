"""Guardrails: the experiment document names them, the registry defines them, and a treatment
significantly worse on one gets a verdict that says so whatever the primary metric says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from service.dashboard import experiment_form
from service.domain.arm_totals import ArmTotals
from service.domain.errors import ValidationFailed
from service.domain.report import build_report
from service.domain.report_metrics import METRICS, metric
from service.domain.report_model import Report, VsControl, report_json, report_json_schema
from service.domain.verdict_alerts import Change, alert_message, changes, describe
from service.schemas.experiment import parse_experiment
from service.stats.summaries import SampleStats
from tests.support import experiment_doc

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GUARDRAILS = ("close_rate", "remind_later_rate", "already_donated_rate")


def _arm(variant: str, visitors: int, donors: int, closes: int = 0, reminds: int = 0) -> ArmTotals:
    revenue = 5.0 * donors
    return ArmTotals(
        variant,
        visitors=visitors,
        converters=donors,
        revenue=revenue,
        revenue_capped=revenue,
        revenue_capped_squares=25.0 * donors,
        conversions=donors,
        close_visitors=closes,
        remind_later_visitors=reminds,
    )


def _report(
    control: ArmTotals,
    treatment: ArmTotals,
    *,
    min_donors: int = 30,
    guardrails: tuple[str, ...] = ("close_rate",),
    **analysis: Any,
) -> Report:
    doc = experiment_doc(analysis={"guardrails": list(guardrails), **analysis})
    return build_report(
        parse_experiment(doc),
        [control, treatment],
        [],
        generated_at=NOW,
        start=None,
        end=None,
        segment=None,
        min_donors=min_donors,
    )


# --- The registry ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", GUARDRAILS)
def test_each_guardrail_is_a_lower_is_better_share_of_exposed_visitors(name: str) -> None:
    entry = metric(name)
    assert entry in METRICS and not entry.higher_is_better and entry.per_visitor
    arm = ArmTotals("a", visitors=200, **{entry.sums[1]: 30})
    assert entry.stats(arm) == SampleStats.proportion(200, 30)


def test_the_report_carries_the_rates_the_query_counts() -> None:
    report = _report(_arm("control", 1000, 50, closes=100), _arm("five-dollars", 1000, 50))
    control = report.variants[0].metrics
    assert control["close_rate"].value == pytest.approx(0.1)
    assert control["remind_later_rate"].value == 0.0


# --- The document ---------------------------------------------------------------------------


def test_an_experiment_names_its_guardrails() -> None:
    doc = experiment_doc(analysis={"guardrails": ["close_rate", "remind_later_rate"]})
    experiment = parse_experiment(doc)
    assert experiment.analysis.guardrails == ("close_rate", "remind_later_rate")
    assert experiment.to_document()["analysis"]["guardrails"] == ["close_rate", "remind_later_rate"]
    assert parse_experiment(experiment_doc()).analysis.guardrails == ()


@pytest.mark.parametrize(
    ("guardrails", "field", "says"),
    [
        (["bounce_rate"], "analysis.guardrails[0]", "must be one of"),
        (["close_rate", "close_rate"], "analysis.guardrails[1]", "is a duplicate"),
        # The primary metrics are not guardrails: a metric cannot be both.
        (["close_rate", "revenue_per_visitor"], "analysis.guardrails[1]", "must be one of"),
        ("close_rate", "analysis.guardrails", ""),
    ],
)
def test_a_wrong_guardrail_is_named_by_its_path(guardrails: Any, field: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        parse_experiment(experiment_doc(analysis={"guardrails": guardrails}))
    assert says in failed.value.fields[field]


def test_the_editor_offers_the_guardrails_as_tick_boxes() -> None:
    assert experiment_form.CHOICES["analysis.guardrails"] == GUARDRAILS
    state = experiment_form.from_document(
        experiment_doc(analysis={"guardrails": ["remind_later_rate"]})
    )
    assert state.top["analysis.guardrails"] == ["remind_later_rate"]
    state.top["analysis.guardrails"] = ["close_rate", "already_donated_rate"]
    doc = experiment_form.to_document(state)
    assert parse_experiment(doc).analysis.guardrails == ("close_rate", "already_donated_rate")


# --- The verdict ----------------------------------------------------------------------------


def test_a_winner_that_hurts_a_guardrail_is_flagged_for_review() -> None:
    report = _report(
        _arm("control", 2000, 100, closes=200), _arm("five-dollars", 2000, 160, closes=260)
    )
    [verdict] = report.verdicts
    assert verdict.status == "guardrail" and verdict.breached == ("close_rate",)
    assert verdict.text == (
        "ahead on revenue per visitor (+60 %), but hurts a guardrail: close rate +30 % "
        "(95 % CI +7.4 % to +53 %); review before shipping"
    )
    body = report_json(report)
    assert body["verdicts"][0]["breached"] == ["close_rate"]
    assert "guardrail" in str(report_json_schema()["$defs"]["Verdict"])


def test_a_bayesian_experiment_flags_a_breach_in_its_own_words() -> None:
    """No p-value or confidence interval in a Bayesian experiment's verdict: the breach is
    the chance of being worse reaching 1 - alpha, with the credible interval."""
    report = _report(
        _arm("control", 2000, 100, closes=200),
        _arm("five-dollars", 2000, 160, closes=260),
        engine="bayesian",
    )
    [verdict] = report.verdicts
    assert verdict.status == "guardrail" and verdict.breached == ("close_rate",)
    assert verdict.text.startswith("ahead on revenue per visitor (+60 %), but hurts a guardrail: ")
    assert "close rate +30 % (95 % credible interval +" in verdict.text
    assert "chance it is worse); review before shipping" in verdict.text
    assert " CI " not in verdict.text and "p =" not in verdict.text


def test_a_bayesian_guardrail_a_little_worse_is_no_breach() -> None:
    report = _report(
        _arm("control", 2000, 100, closes=200),
        _arm("five-dollars", 2000, 160, closes=215),
        engine="bayesian",
    )
    assert report.verdicts[0].status == "ahead"


def test_without_the_guardrail_the_same_figures_are_a_plain_win() -> None:
    report = _report(
        _arm("control", 2000, 100, closes=200),
        _arm("five-dollars", 2000, 160, closes=260),
        guardrails=(),
    )
    assert report.verdicts[0].status == "ahead"
    assert report.variants[1].metrics["close_rate"].vs_control is not None


def test_fewer_closes_is_no_breach() -> None:
    report = _report(
        _arm("control", 2000, 100, closes=260), _arm("five-dollars", 2000, 160, closes=200)
    )
    assert report.verdicts[0].status == "ahead"


def test_a_breach_shows_while_the_primary_metric_waits_for_donors() -> None:
    report = _report(
        _arm("control", 2000, 10, closes=200), _arm("five-dollars", 2000, 12, closes=300)
    )
    [verdict] = report.verdicts
    assert verdict.status == "guardrail"
    assert verdict.text.startswith(
        "too few donors yet to judge revenue per visitor (10 of 30), but hurts a guardrail: "
        "close rate +50 %"
    )


def test_a_sample_ratio_mismatch_wins_over_a_breach() -> None:
    report = _report(
        _arm("control", 2000, 100, closes=200), _arm("five-dollars", 1500, 160, closes=600)
    )
    assert report.srm.mismatch and report.verdicts[0].status == "srm"


def test_several_breaches_are_listed_and_always_valid_intervals_say_so() -> None:
    report = _report(
        _arm("control", 5000, 300, closes=500, reminds=500),
        _arm("five-dollars", 5000, 300, closes=800, reminds=800),
        guardrails=("close_rate", "remind_later_rate"),
        sequential=True,
    )
    [verdict] = report.verdicts
    assert verdict.breached == ("close_rate", "remind_later_rate")
    assert verdict.text.startswith("inconclusive on revenue per visitor (+0.0 %), but hurts 2")
    assert "close rate +60 % (95 % always-valid CI" in verdict.text
    assert ") and remind later rate +60 % (" in verdict.text


def test_holm_holds_each_of_several_guardrails_to_a_stricter_bar() -> None:
    # close_rate alone is worse beyond its interval (p ≈ 0.03), so it breaches on its own;
    # beside a second guardrail that shows nothing, Holm's bar (alpha / 2 for the smaller
    # p-value) is not met and the verdict is the primary's.
    control = _arm("control", 2000, 100, closes=200, reminds=200)
    treatment = _arm("five-dollars", 2000, 100, closes=245, reminds=200)
    alone = _report(control, treatment)
    assert alone.verdicts[0].status == "guardrail"
    vs = alone.variants[1].metrics["close_rate"].vs_control
    assert isinstance(vs, VsControl) and 0.025 < vs.p_value < 0.05
    both = _report(control, treatment, guardrails=("close_rate", "remind_later_rate"))
    assert both.verdicts[0].status == "inconclusive"


# --- Alerts ---------------------------------------------------------------------------------


def test_a_breach_alerts_as_a_verdict_change() -> None:
    report = _report(
        _arm("control", 2000, 100, closes=200), _arm("five-dollars", 2000, 160, closes=260)
    )
    [change] = changes({"five-dollars": "ahead"}, report)
    assert (change.before, change.after) == ("ahead", "guardrail")
    line = describe(change, "revenue per visitor")
    assert line == "five-dollars breached a guardrail: review before shipping"
    message = alert_message(
        experiment_key="monthly-ask",
        experiment_name="Monthly ask",
        revision=1,
        found=[change],
        report=report,
        results_url="https://favor.example.org/dashboard/experiments/monthly-ask",
    )
    assert "breached a guardrail" in message.subject
    assert "close rate +30 %" in message.text
    assert message.payload["changes"][0]["after"] == "guardrail"
    assert describe(Change("five-dollars", "guardrail", "ahead", ""), "x") == (
        "five-dollars became the winner on x"
    )
