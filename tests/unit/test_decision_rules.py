"""Targeting, caps, snoozes and the decision across experiments on one placement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain.bucketing import HOLDOUT, bucket
from service.domain.decision import Plan, Reason, decide, plan
from service.domain.experiment import Device, Experiment, Placement, Status
from service.domain.ledger import Ledger, parse_ledger
from service.domain.page_context import PageContext
from service.domain.placement_order import ahead
from service.domain.targeting import audience_rule, first_failed_rule, in_schedule
from service.schemas.experiment import parse_experiment
from service.store.experiment_cache import build_snapshot
from tests.support import experiment_doc

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EPOCH = NOW.timestamp()


def exp(key: str = "ask", **overrides: Any) -> Experiment:
    return parse_experiment(experiment_doc(key=key, status="running", **overrides))


def ctx(**overrides: Any) -> PageContext:
    values: dict[str, Any] = {
        "visitor": "reader-000001",
        "placement": Placement.article_end,
        "device": Device.mobile,
        "country": "US",
        "language": "en",
        "section": "world",
        "tags": frozenset({"climate"}),
        "article_views": 5,
    }
    values.update(overrides)
    return PageContext(**values)


def run(
    experiments: list[Experiment], page: PageContext | None = None, ledger: Ledger | None = None
) -> Any:
    page = page or ctx()
    the_plan = plan(experiments, page, NOW)
    return decide(the_plan, ledger or Ledger(), page, NOW, stored_speculative=True)


# -- targeting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "targeting,page,rule",
    [
        ({"countries": ["GB"]}, {}, "countries"),
        ({"countries": ["US"]}, {"country": None}, "countries"),
        ({"devices": ["desktop"]}, {}, "devices"),
        ({"languages": ["de"]}, {}, "languages"),
        ({"sections": ["politics"]}, {}, "sections"),
        ({"sections": ["world"]}, {"section": None}, "sections"),
        ({"exclude_sections": ["world"]}, {}, "exclude_sections"),
        ({"tags": ["elections"]}, {}, "tags"),
        ({"min_article_views": 6}, {}, "min_article_views"),
    ],
)
def test_each_page_rule_is_named_when_it_fails(targeting: dict, page: dict, rule: str) -> None:
    assert first_failed_rule(exp(targeting=targeting), ctx(**page)) == rule


def test_matching_rules_pass() -> None:
    targeting = {
        "countries": ["US"],
        "devices": ["mobile"],
        "languages": ["en"],
        "sections": ["world"],
        "tags": ["climate", "x"],
        "min_article_views": 5,
    }
    assert first_failed_rule(exp(targeting=targeting), ctx()) is None


def test_schedule_window() -> None:
    e = exp(start_at="2026-11-28T13:00:00Z", end_at="2026-11-29T00:00:00Z")
    assert not in_schedule(e, NOW)
    assert in_schedule(e, NOW + timedelta(hours=2))
    assert not in_schedule(e, NOW + timedelta(hours=12))


@pytest.mark.parametrize(
    "audience,supporter,fails",
    [
        ("everyone", True, False),
        ("non_supporters", True, True),
        ("non_supporters", False, False),
        ("supporters", False, True),
        ("supporters", True, False),
    ],
)
def test_audience(audience: str, supporter: bool, fails: bool) -> None:
    e = exp(targeting={"audience": audience})
    assert (audience_rule(e, supporter) is not None) is fails


# -- the decision --------------------------------------------------------------------------


def test_no_running_experiment() -> None:
    assert run([]).reason == Reason.no_experiment
    future = exp(start_at="2027-01-01T00:00:00Z")
    assert run([future]).reason == Reason.no_experiment


def test_untargeted_reader() -> None:
    assert run([exp(targeting={"countries": ["GB"]})]).reason == Reason.not_targeted


def test_highest_priority_eligible_experiment_wins() -> None:
    high = exp("high", priority=20, targeting={"countries": ["GB"]})
    middle = exp("middle", priority=10)
    low = exp("low", priority=1)
    outcome = run([high, middle, low])
    assert outcome.reason is None
    assert outcome.experiment.key == "middle"
    assert outcome.trace[0] == {"experiment": "high", "failed": "countries"}


def test_at_equal_priority_the_key_sorting_first_wins_however_they_are_listed() -> None:
    # The snapshot orders a placement's experiments as the dashboard's warnings say it does;
    # which one started first does not matter.
    demo = exp("demo-monthly-ask", priority=10).with_status(Status.running)
    mine = exp("my-test", priority=10).with_status(Status.running)
    for listed in ([mine, demo], [demo, mine]):
        snapshot = build_snapshot(listed, 1, 0.0)
        assert [e.key for e in snapshot.running[Placement.article_end]] == [
            "demo-monthly-ask",
            "my-test",
        ]
        outcome = run(list(snapshot.running[Placement.article_end]))
        assert outcome.experiment.key == "demo-monthly-ask"
    assert ahead(demo, mine) and not ahead(mine, demo)
    assert ahead(exp("z-high", priority=11), demo)


def test_visitor_outside_traffic_falls_through_to_the_next() -> None:
    visitors = [f"reader-{i:06d}" for i in range(200)]
    top = exp("top", priority=10, traffic=0.5)
    other = exp("other", priority=1)
    outside = next(v for v in visitors if not bucket(top, v).in_traffic)
    outcome = run([top, other], ctx(visitor=outside))
    assert outcome.experiment.key == "other"
    assert run([top], ctx(visitor=outside)).reason == Reason.outside_traffic


def test_holdout_sees_nothing_on_the_placement() -> None:
    top = exp("top", priority=10, holdout=0.5)
    other = exp("other", priority=1)
    held = next(
        v for v in (f"reader-{i:06d}" for i in range(200)) if bucket(top, v).assignment == HOLDOUT
    )
    outcome = run([top, other], ctx(visitor=held))
    assert outcome.reason == Reason.holdout
    assert outcome.to_store is None  # covered by the speculative write


def test_stored_assignment_wins_over_the_hash() -> None:
    e = exp()
    hashed = bucket(e, "reader-000001").assignment
    other = "control" if hashed != "control" else "five-dollars"
    outcome = run([e], ledger=Ledger(assignments={"ask": other}))
    assert outcome.variant.key == other
    assert outcome.to_store is None


def test_assigned_visitor_stays_inside_when_traffic_drops() -> None:
    e = exp(traffic=0.01)
    visitor = next(
        v for v in (f"reader-{i:06d}" for i in range(200)) if not bucket(e, v).in_traffic
    )
    outcome = run([e], ctx(visitor=visitor), Ledger(assignments={"ask": "control"}))
    assert outcome.variant.key == "control"


def test_new_assignment_is_stored_unless_the_speculative_write_covered_it() -> None:
    e = exp()
    page = ctx()
    the_plan = plan([e], page, NOW)
    covered = decide(the_plan, Ledger(), page, NOW, stored_speculative=True)
    assert covered.to_store is None
    uncovered = decide(the_plan, Ledger(), page, NOW, stored_speculative=False)
    assert uncovered.to_store == ("ask", covered.variant.key)


def test_supporter_falls_through_and_the_winner_is_stored() -> None:
    ask = exp("ask", priority=10, targeting={"audience": "non_supporters"})
    thanks = exp("thanks", priority=1, targeting={"audience": "supporters"})
    page = ctx(supporter=True)
    the_plan: Plan = plan([ask, thanks], page, NOW)
    assert the_plan.speculative_assignment[0] == "ask"
    outcome = decide(the_plan, Ledger(), page, NOW, stored_speculative=True)
    assert outcome.experiment.key == "thanks"
    assert outcome.to_store is not None and outcome.to_store[0] == "thanks"


def test_verified_supporter_from_the_ledger() -> None:
    ask = exp(targeting={"audience": "non_supporters"})
    assert run([ask], ledger=Ledger(supporter_since=EPOCH - 10)).reason == Reason.supporter


def test_snoozed_placement() -> None:
    ledger = Ledger(snoozed_until={"article-end": EPOCH + 60})
    assert run([exp()], ledger=ledger).reason == Reason.snoozed
    expired = Ledger(snoozed_until={"article-end": EPOCH - 60})
    assert run([exp()], ledger=expired).reason is None
    elsewhere = Ledger(snoozed_until={"bottom-banner": EPOCH + 60})
    assert run([exp()], ledger=elsewhere).reason is None


def test_max_impressions_per_rolling_window() -> None:
    e = exp(caps={"max_impressions": 2, "per_days": 7})
    day = 86_400
    two_recent = Ledger(impressions={"ask": (EPOCH - 2 * day, EPOCH - day)})
    assert run([e], ledger=two_recent).reason == Reason.capped
    one_old = Ledger(impressions={"ask": (EPOCH - 8 * day, EPOCH - day)})
    assert run([e], ledger=one_old).reason is None


def test_min_hours_between_impressions() -> None:
    e = exp(caps={"min_hours_between": 4})
    assert run([e], ledger=Ledger(impressions={"ask": (EPOCH - 3 * 3600,)})).reason == Reason.capped
    assert run([e], ledger=Ledger(impressions={"ask": (EPOCH - 5 * 3600,)})).reason is None


def test_ledger_parsing_ignores_junk() -> None:
    ledger = parse_ledger(
        {
            "a:ask": "control",
            "i:ask": "1 2 x%",
            "s:header": "oops",
            "sup": "17",
            "other": "1",
            "i:ok": "5 6",
        }
    )
    assert ledger.assignments == {"ask": "control"}
    assert ledger.impressions == {"ok": (5.0, 6.0)}
    assert ledger.snoozed_until == {}
    assert ledger.supporter_since == 17.0
