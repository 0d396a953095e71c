"""The decision trace: each experiment on the placement with the rule that ruled it out."""

from __future__ import annotations

from service.domain.bucketing import bucket
from service.domain.decision import Reason
from service.domain.decision_trace import explain
from service.domain.ledger import Ledger
from tests.unit.test_decision_rules import EPOCH, NOW, ctx, exp


def test_rows_follow_decision_order_with_the_shown_experiment_unruled() -> None:
    # Listed in decision order (priority), as the placement's running experiments are.
    uk = exp("uk-only", priority=50, targeting={"countries": ["GB"]})
    everyone = exp("everyone", priority=10, targeting={})
    later = exp("later", priority=1, targeting={})
    found = explain([uk, everyone, later], Ledger(), ctx(), NOW)
    assert found.outcome.experiment is not None and found.outcome.experiment.key == "everyone"
    assert found.rows == [
        {"experiment": "uk-only", "failed": "countries"},
        {"experiment": "everyone", "failed": None},
        {"experiment": "later", "failed": "priority"},
    ]


def test_a_snooze_names_the_experiment_it_stopped_and_the_rest_were_not_reached() -> None:
    top = exp("top", priority=10, targeting={})
    other = exp("other", priority=1, targeting={})
    ledger = Ledger(snoozed_until={"article-end": EPOCH + 60})
    found = explain([top, other], ledger, ctx(), NOW)
    assert found.outcome.reason == Reason.snoozed
    assert found.rows == [
        {"experiment": "top", "failed": "snoozed"},
        {"experiment": "other", "failed": "priority"},
    ]


def test_traffic_audience_and_schedule_are_named() -> None:
    visitors = [f"reader-{i:06d}" for i in range(200)]
    half = exp("half", priority=30, traffic=0.5, targeting={})
    outside = next(v for v in visitors if not bucket(half, v).in_traffic)
    givers = exp("givers", priority=20, targeting={"audience": "supporters"})
    future = exp("future", priority=10, targeting={}, start_at="2099-01-01T00:00:00Z")
    found = explain([half, givers, future], Ledger(), ctx(visitor=outside), NOW)
    assert found.outcome.reason == Reason.outside_traffic
    assert found.rows == [
        {"experiment": "half", "failed": "traffic"},
        {"experiment": "givers", "failed": "audience"},
        {"experiment": "future", "failed": "schedule"},
    ]


def test_a_cap_is_named_and_nothing_is_written() -> None:
    capped = exp("capped", targeting={}, caps={"max_impressions": 1, "per_days": 7})
    found = explain([capped], Ledger(impressions={"capped": (EPOCH - 60,)}), ctx(), NOW)
    assert found.rows == [{"experiment": "capped", "failed": "capped"}]
    # The lookup stores nothing; the assignment it would make is only reported.
    assert found.outcome.to_store is not None


def test_no_experiment_on_the_placement() -> None:
    found = explain([], Ledger(), ctx(), NOW)
    assert found.outcome.reason == Reason.no_experiment
    assert found.rows == []
