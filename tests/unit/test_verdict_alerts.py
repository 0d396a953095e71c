"""Verdict alerts' change detection and message: pure, on reports whose verdicts are set."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, cast

from service.domain.arm_totals import ArmTotals
from service.domain.report import build_report
from service.domain.report_model import Report, Verdict, VerdictStatus
from service.domain.verdict_alerts import alert_message, changes, key_figures, verdict_state
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
URL = "https://favor.example.org/dashboard/experiments/monthly-ask"


def _arm(variant: str, visitors: int, donors: int) -> ArmTotals:
    revenue = 5.0 * donors
    return ArmTotals(
        variant,
        visitors=visitors,
        converters=donors,
        revenue=revenue,
        revenue_capped=revenue,
        revenue_capped_squares=25.0 * donors,
        annualised=revenue * 12,
        annualised_capped=revenue * 12,
        annualised_capped_squares=25.0 * 144 * donors,
        conversions=donors,
    )


def report(*verdicts: tuple[str, str], variants: int = 2, engine: str = "frequentist") -> Report:
    """A real report of 1,000 visitors per variant whose verdicts are replaced by these."""
    doc: dict[str, Any] = experiment_doc(analysis={"engine": engine})
    if variants == 3:
        doc["variants"].append({**doc["variants"][1], "key": "ten-dollars"})
    experiment = parse_experiment(doc)
    arms = [_arm(v.key, 1000, 40 + 20 * i) for i, v in enumerate(experiment.variants)]
    built = build_report(experiment, arms, [], generated_at=NOW, start=None, end=None, segment=None)
    return dataclasses.replace(
        built,
        verdicts=tuple(
            Verdict(variant, cast(VerdictStatus, status), f"{status}: +50.0 % revenue per visitor")
            for variant, status in verdicts
        ),
    )


def test_the_first_evaluation_records_the_state_and_reports_no_change() -> None:
    now = report(("five-dollars", "ahead"))
    assert verdict_state(now) == {"five-dollars": "ahead"}
    assert changes(None, now) == []


def test_the_same_state_is_no_change() -> None:
    assert changes({"five-dollars": "inconclusive"}, report(("five-dollars", "inconclusive"))) == []


def test_a_variant_becoming_the_winner_is_one_change_with_its_verdict() -> None:
    (change,) = changes({"five-dollars": "inconclusive"}, report(("five-dollars", "ahead")))
    assert (change.variant, change.before, change.after) == (
        "five-dollars",
        "inconclusive",
        "ahead",
    )
    assert change.verdict == "ahead: +50.0 % revenue per visitor"


def test_only_the_variants_that_changed_are_reported() -> None:
    now = report(("five-dollars", "ahead"), ("ten-dollars", "behind"), variants=3)
    found = changes({"five-dollars": "ahead", "ten-dollars": "inconclusive"}, now)
    assert [(c.variant, c.after) for c in found] == [("ten-dollars", "behind")]


def test_a_verdict_kind_the_alerts_do_not_know_still_alerts() -> None:
    # e.g. a guardrail verdict added to the report later: compared like any other status.
    now = report(("five-dollars", "guardrail_breached"))
    (change,) = changes({"five-dollars": "ahead"}, now)
    assert change.after == "guardrail_breached"
    message = alert_message(
        experiment_key="monthly-ask",
        experiment_name="Monthly ask",
        revision=2,
        found=[change],
        report=now,
        results_url=URL,
    )
    assert "five-dollars is now guardrail breached" in message.text


def test_a_variant_without_a_verdict_any_more_is_a_change() -> None:
    (change,) = changes(
        {"five-dollars": "ahead", "gone": "behind"}, report(("five-dollars", "ahead"))
    )
    assert (change.variant, change.before, change.after) == ("gone", "behind", None)


def test_the_message_names_the_experiment_the_change_the_figures_and_the_link() -> None:
    now = report(("five-dollars", "ahead"))
    found = changes({"five-dollars": "inconclusive"}, now)
    message = alert_message(
        experiment_key="monthly-ask",
        experiment_name="Monthly ask",
        revision=2,
        found=found,
        report=now,
        results_url=URL,
    )
    assert message.subject == (
        "Small Favor: Monthly ask: five-dollars became the winner on revenue per visitor"
    )
    assert "Monthly ask (monthly-ask): the verdict changed." in message.text
    assert "- five-dollars became the winner on revenue per visitor" in message.text
    assert "  ahead: +50.0 % revenue per visitor" in message.text
    assert "- control: 1,000 visitors, 40 donors, revenue per visitor 0.20 USD" in message.text
    assert (
        "- five-dollars: 1,000 visitors, 60 donors, revenue per visitor 0.30 USD, lift +50.0 %"
        in (message.text)
    )
    assert f"Results: {URL}" in message.text
    payload = message.payload
    assert payload["text"].startswith("*Monthly ask*: five-dollars became the winner")
    assert payload["text"].endswith(f"<{URL}|Results>")
    assert payload["changes"] == [
        {
            "variant": "five-dollars",
            "before": "inconclusive",
            "after": "ahead",
            "verdict": "ahead: +50.0 % revenue per visitor",
        }
    ]
    assert (payload["experiment"], payload["revision"], payload["results_url"]) == (
        "monthly-ask",
        2,
        URL,
    )


def test_srm_on_every_variant_is_one_headline() -> None:
    now = report(("five-dollars", "srm"), ("ten-dollars", "srm"), variants=3)
    found = changes({"five-dollars": "ahead", "ten-dollars": "inconclusive"}, now)
    message = alert_message(
        experiment_key="monthly-ask",
        experiment_name="Monthly ask",
        revision=3,
        found=found,
        report=now,
        results_url=URL,
    )
    assert message.subject == "Small Favor: Monthly ask: sample ratio mismatch flagged"
    assert "five-dollars is flagged: sample ratio mismatch" in message.text


def test_a_name_with_line_breaks_makes_a_one_line_subject_a_mail_header_takes() -> None:
    now = report(("five-dollars", "ahead"))
    message = alert_message(
        experiment_key="monthly-ask",
        experiment_name="Monthly\r\nBcc: someone@example.org",
        revision=2,
        found=changes({"five-dollars": "inconclusive"}, now),
        report=now,
        results_url=URL,
    )
    assert message.subject.startswith("Small Favor: Monthly Bcc: someone@example.org: ")
    assert "\r" not in message.subject and "\n" not in message.subject
    mail = EmailMessage()
    mail["Subject"] = message.subject  # raises ValueError on a line break
    assert mail["Subject"] == message.subject


def test_key_figures_follow_the_engine() -> None:
    """A frequentist report's figures show the confidence interval; a Bayesian one's say the
    interval is credible and give the chance to beat control, never a p-value."""
    lines = {
        engine: key_figures(report(("five-dollars", "ahead"), engine=engine))[1]
        for engine in ("frequentist", "bayesian")
    }
    assert re.fullmatch(
        r".*, lift \+50\.0 % \([-+][0-9.]+ % to \+[0-9.]+ %\)", lines["frequentist"]
    )
    assert re.fullmatch(
        r".*, lift \+50\.0 % \(credible interval [-+][0-9.]+ % to \+[0-9.]+ %\), "
        r"[0-9.]+ % chance to beat control",
        lines["bayesian"],
    )
