"""The pure dry run: reach, overlap with running experiments, days to detect, the request's
checks, and the sampled-decision record it reads."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain.decision_log import OUTCOMES, LoggedDecision
from service.domain.dry_run import DryRunRequest, dry_run, reach
from service.domain.dry_run_power import History
from service.domain.errors import ValidationFailed
from service.domain.experiment import Device, Experiment, Placement, PrimaryMetric, Status
from service.domain.page_context import PageContext
from service.domain.targeting import first_failed_rule
from service.schemas.dry_run import parse_request
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def sample(
    n: int = 0,
    *,
    country: str = "US",
    device: Device = Device.mobile,
    rate: float = 1.0,
    supporter: bool = False,
    **extra: Any,
) -> LoggedDecision:
    return LoggedDecision(
        entry_id=f"entry-{n}-{country}-{device}",
        decided_ms=int(NOW.timestamp() * 1000),
        placement=Placement.article_end,
        outcome="no_experiment",
        sample_rate=rate,
        device=device,
        country=country,
        supporter=supporter,
        **extra,
    )


def experiment(key: str = "candidate", **overrides: Any) -> Experiment:
    return parse_experiment(experiment_doc(key=key, **overrides))


def running(key: str, **overrides: Any) -> Experiment:
    return experiment(key, status="running", **overrides).with_status(Status.running)


def population(us: int, gb: int, **extra: Any) -> list[LoggedDecision]:
    return [sample(i, country="US", **extra) for i in range(us)] + [
        sample(i, country="GB", **extra) for i in range(gb)
    ]


def test_qualifying_share_is_the_rules_share_times_traffic() -> None:
    candidate = experiment(targeting={"countries": ["US"]}, traffic=0.5)
    found = reach(candidate, population(30, 70), [])
    assert found is not None
    assert found.targeted_share == pytest.approx(0.3)
    assert found.qualifying_share == pytest.approx(0.15)
    assert (found.higher_priority_share, found.any_priority_share, found.overlaps) == (0, 0, ())


def test_an_equal_priority_is_not_called_higher_and_the_key_breaks_the_tie() -> None:
    # The form's defaults tie with the demo (article-end, priority 10): "demo-monthly-ask"
    # sorts before "my-test", so it takes every reader both qualify for, and that is said
    # as taken first at equal priority, never as a higher priority.
    demo = running("demo-monthly-ask", priority=10)
    samples = population(50, 50)
    found = reach(experiment("my-test", priority=10), samples, [demo])
    assert found is not None
    assert found.taken_first_share == pytest.approx(1.0)
    assert (found.higher_priority_share, found.equal_priority_share) == (0.0, pytest.approx(1.0))
    (overlap,) = found.overlaps
    assert overlap.takes_first and not overlap.higher_priority

    # A key sorting before the demo's wins the same tie: nothing is taken first.
    first = reach(experiment("a-test", priority=10), samples, [demo])
    assert first is not None and first.taken_first_share == 0.0
    assert not first.overlaps[0].takes_first

    # Above the tie, a higher priority and an equal one split what is taken first.
    higher = running("us-first", priority=20, targeting={"countries": ["US"]}, traffic=0.5)
    both = reach(experiment("my-test", priority=10), samples, [demo, higher])
    assert both is not None
    assert both.higher_priority_share == pytest.approx(0.25)
    assert both.equal_priority_share == pytest.approx(0.75)
    assert both.taken_first_share == pytest.approx(1.0)


def test_each_sample_counts_as_one_over_its_rate() -> None:
    # 10 US samples taken at 10 % stand for 100 decisions, 100 GB samples at 100 % for 100.
    candidate = experiment(targeting={"countries": ["US"]})
    samples = population(10, 0, rate=0.1) + population(0, 100, rate=1.0)
    found = reach(candidate, samples, [])
    assert found is not None and found.targeted_share == pytest.approx(0.5)


def test_the_audience_rule_uses_the_supporter_flag_the_decision_saw() -> None:
    candidate = experiment(targeting={"audience": "non_supporters"})
    samples = population(40, 0, supporter=True) + population(60, 0)
    found = reach(candidate, samples, [])
    assert found is not None and found.targeted_share == pytest.approx(0.6)


def test_overlap_with_running_experiments_by_priority_and_traffic() -> None:
    candidate = experiment(priority=10, targeting={"countries": ["US", "GB"]})
    # Ahead of it: mobile readers, half of them in traffic. Behind it: every US reader.
    mobile_first = running(
        "mobile-first", priority=20, targeting={"devices": ["mobile"]}, traffic=0.5
    )
    us_later = running("us-later", priority=5, targeting={"countries": ["US"]})
    elsewhere = running("elsewhere", placement="header", priority=99, targeting={})
    samples = (
        population(20, 20, device=Device.mobile)  # 40 % mobile, half of them US
        + population(30, 30, device=Device.desktop)
    )
    found = reach(candidate, samples, [mobile_first, us_later])
    assert found is not None and found.qualifying_share == pytest.approx(1.0)
    overlaps = {o.experiment: o for o in found.overlaps}
    assert overlaps["mobile-first"].higher_priority and not overlaps["us-later"].higher_priority
    assert overlaps["mobile-first"].share == pytest.approx(0.4 * 0.5)
    assert overlaps["us-later"].share == pytest.approx(0.5)
    assert found.higher_priority_share == pytest.approx(0.2)
    # Any other: US readers always (traffic 1), GB mobile readers half the time.
    assert found.any_priority_share == pytest.approx(0.5 + 0.2 * 0.5)

    result = dry_run(
        candidate,
        samples,
        [mobile_first, us_later, elsewhere],
        DryRunRequest(),
        start=NOW - timedelta(days=7),
        end=NOW,
        estimated_decisions=700.0,
        total_samples=len(samples),
        first_sample_at=NOW - timedelta(days=7),
        history=None,
    )
    assert {o["experiment"] for o in result.as_dict()["overlap"]["experiments"]} == {
        "mobile-first",
        "us-later",
    }
    # 100 decisions a day all qualify; 20 % go to the higher-priority one; holdout 0.
    assert result.qualifying_daily_visitors == pytest.approx(100.0)
    assert result.exposed_daily_visitors == pytest.approx(80.0)


def _run(candidate: Experiment, samples: list[LoggedDecision], **request: Any) -> Any:
    return dry_run(
        candidate,
        samples,
        [],
        DryRunRequest(**request),
        start=NOW - timedelta(days=request.get("days", 7)),
        end=NOW,
        estimated_decisions=sum(s.weight for s in samples),
        total_samples=len(samples),
        first_sample_at=NOW - timedelta(days=6, hours=23) if samples else None,
        history=None,
    )


def test_days_to_detect_from_daily_exposed_visitors() -> None:
    candidate = experiment(analysis={"primary_metric": "conversion_rate"}, holdout=0.2)
    samples = population(875, 0)  # 125 decisions a day over 7 days, all qualifying
    result = _run(candidate, samples, baseline=0.05, minimum_effect=1.0)
    body = result.as_dict()
    assert body["estimated_daily_decisions"] == pytest.approx(125.0)
    assert body["exposed_daily_visitors"] == pytest.approx(100.0)  # the holdout sees nothing
    assert body["power"]["visitors_per_arm"] == 432
    # 2 x 431.7 visitors at 100 a day.
    assert body["days_to_detect"] == math.ceil(2 * 431.69 / 100)
    assert body["reason"] is None
    assert any("holdout 0.2" in a for a in body["assumptions"])


def test_without_samples_the_answer_says_why() -> None:
    result = _run(experiment(analysis={"primary_metric": "conversion_rate"}), [])
    body = result.as_dict()
    assert (body["samples"], body["qualifying_share"], body["days_to_detect"]) == (0, None, None)
    assert body["reason"] == "no decisions on article-end were sampled in the last 7 days"
    # A revenue metric without a baseline lacks that too: both are said.
    revenue = _run(experiment(), []).as_dict()
    assert revenue["reason"] == (
        "no decisions on article-end were sampled in the last 7 days; and revenue_per_visitor "
        "needs a baseline and baseline_sd: the placement has no history of 1000+ exposed "
        "visitors with revenue in 90 days"
    )
    assert (revenue["power"], revenue["minimum_effect"]) == (None, 0.1)


def test_nobody_qualifying_gives_no_duration() -> None:
    candidate = experiment(
        targeting={"countries": ["FR"]}, analysis={"primary_metric": "conversion_rate"}
    )
    body = _run(candidate, population(10, 10)).as_dict()
    assert body["qualifying_share"] == 0
    assert body["days_to_detect"] is None
    assert body["reason"] == "none of the sampled readers would be exposed to it"


def test_revenue_metric_without_baseline_or_history_says_what_to_give() -> None:
    body = _run(experiment(), population(10, 10)).as_dict()  # revenue_per_visitor
    assert body["power"] is None and body["days_to_detect"] is None
    assert "baseline_sd" in body["reason"]
    with_history = dry_run(
        experiment(),
        population(700, 0),
        [],
        DryRunRequest(minimum_effect=0.5),
        start=NOW - timedelta(days=7),
        end=NOW,
        estimated_decisions=700.0,
        total_samples=700,
        first_sample_at=None,
        history=History(visitors=5000, total=5000.0, total_squares=25_000.0),  # mean 1, sd 2
    ).as_dict()
    assert with_history["power"]["baseline"]["source"] == "history"
    assert with_history["days_to_detect"] is not None


def test_a_short_history_of_samples_is_flagged() -> None:
    samples = population(10, 0)
    result = dry_run(
        experiment(),
        samples,
        [],
        DryRunRequest(),
        start=NOW - timedelta(days=7),
        end=NOW,
        estimated_decisions=10.0,
        total_samples=40,
        first_sample_at=NOW - timedelta(days=2),
        history=None,
    )
    notes = " ".join(result.assumptions)
    assert "newest 10 of 40 samples" in notes
    assert "daily figures are underestimated" in notes


def test_the_request_is_checked_field_by_field() -> None:
    rate = PrimaryMetric.conversion_rate
    assert parse_request({}, rate) == DryRunRequest(0.1, None, None, 7)
    assert parse_request({"days": 7.0, "baseline": 0.02}, rate).days == 7
    with pytest.raises(ValidationFailed) as caught:
        parse_request({"minimum_effect": "big", "baseline": 1.5, "days": 0, "colour": "red"}, rate)
    assert set(caught.value.fields) == {"minimum_effect", "baseline", "days", "colour"}
    with pytest.raises(ValidationFailed) as caught:
        parse_request({"baseline_sd": 2.0, "days": True, "minimum_effect": math.inf}, rate)
    assert set(caught.value.fields) == {"baseline_sd", "days", "minimum_effect"}
    with pytest.raises(ValidationFailed) as caught:
        parse_request({"baseline": 0.6, "minimum_effect": 1.0}, rate)
    assert caught.value.fields == {
        "minimum_effect": "baseline x (1 + minimum_effect) must stay below 1"
    }
    revenue = parse_request(
        {"baseline": 12.5, "baseline_sd": 30}, PrimaryMetric.revenue_per_visitor
    )
    assert (revenue.baseline, revenue.baseline_sd) == (12.5, 30.0)


def test_a_logged_decision_round_trips_through_stream_fields() -> None:
    decision = sample(
        1,
        experiment="monthly-ask",
        variant="control",
        language="en",
        section="world",
        tags=frozenset({"climate", "energy"}),
        article_views=4,
        supporter=True,
        rate=0.01,
    )
    fields = decision.to_fields()
    assert fields["k"] == "decision" and fields["tg"] == "climate,energy"
    assert LoggedDecision.from_fields(fields) == decision
    assert decision.weight == pytest.approx(100.0)
    # The targeting rules read it as the decision path read the page.
    ctx = decision.context()
    assert isinstance(ctx, PageContext) and ctx.tags == decision.tags
    assert first_failed_rule(experiment(targeting={"tags": ["energy"]}), ctx) is None
    for broken in ({"o": "unavailable"}, {"sr": "0"}, {"sr": "nan"}, {"av": "-1"}, {"d": "tv"}):
        with pytest.raises((KeyError, ValueError)):
            LoggedDecision.from_fields({**fields, **broken})
    assert "unavailable" not in OUTCOMES and OUTCOMES[0] == "shown"
