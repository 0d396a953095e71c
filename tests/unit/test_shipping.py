"""Shipping a winner: the lifecycle's ship and unship, and decisions that follow the ship."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.bucketing import HOLDOUT
from service.domain.decision import Reason, decide, plan
from service.domain.errors import EditNotAllowed, TransitionNotAllowed, ValidationFailed
from service.domain.experiment import Device, Experiment, Placement, Status
from service.domain.ledger import Ledger
from service.domain.lifecycle import check_update, ship, unship
from service.domain.page_context import PageContext
from service.schemas.experiment import parse_experiment
from service.store.experiment_cache import build_snapshot
from tests.support import experiment_doc

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EPOCH = NOW.timestamp()
READERS = [f"reader-{i:06d}" for i in range(2000)]


def exp(status: str = "running", **overrides: Any) -> Experiment:
    return parse_experiment(experiment_doc(key="ask", status=status, **overrides))


def ctx(visitor: str = "reader-000001") -> PageContext:
    return PageContext(
        visitor=visitor,
        placement=Placement.article_end,
        device=Device.mobile,
        country="US",
        language="en",
        section="world",
        tags=frozenset({"climate"}),
        article_views=5,
    )


def run(experiment: Experiment, visitor: str = "reader-000001", ledger: Ledger | None = None):  # type: ignore[no-untyped-def]
    page = ctx(visitor)
    the_plan = plan([experiment], page, NOW)
    return decide(the_plan, ledger or Ledger(), page, NOW, stored_speculative=True)


# -- lifecycle ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["running", "paused", "stopped"])
def test_ship_ends_the_test_and_unship_returns_to_where_it_was(status: str) -> None:
    shipped = ship(exp(status), "five-dollars", 0.05)
    assert shipped.status == Status.shipped
    assert shipped.shipped is not None
    assert (shipped.shipped.variant, shipped.shipped.holdout) == ("five-dollars", 0.05)
    back = unship(shipped)
    assert back.status == status
    assert back.shipped is None
    assert back == exp(status)


def test_a_shipped_document_parses_back_to_the_same_experiment() -> None:
    shipped = ship(exp(), "five-dollars", 0.1)
    document = shipped.to_document()
    assert document["shipped"] == {
        "variant": "five-dollars",
        "holdout": 0.1,
        "previous_status": "running",
    }
    assert parse_experiment(document) == shipped
    assert "shipped" not in exp().to_document()


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_only_a_test_that_ran_can_be_shipped(status: str) -> None:
    with pytest.raises(TransitionNotAllowed):
        ship(exp(status), "five-dollars", 0.0)


def test_shipping_twice_or_unshipping_what_is_not_shipped_is_refused() -> None:
    with pytest.raises(TransitionNotAllowed):
        ship(ship(exp(), "control", 0.0), "five-dollars", 0.0)
    with pytest.raises(TransitionNotAllowed):
        unship(exp())


def test_unknown_variant_and_holdout_out_of_range_name_their_fields() -> None:
    with pytest.raises(ValidationFailed) as caught:
        ship(exp(), "ten-dollars", 0.6)
    assert set(caught.value.fields) == {"variant", "holdout"}
    with pytest.raises(ValidationFailed) as negative:
        ship(exp(), "control", -0.01)
    assert set(negative.value.fields) == {"holdout"}
    assert ship(exp(), "control", 0.5).shipped is not None


def test_a_shipped_experiment_is_read_only() -> None:
    shipped = ship(exp(), "five-dollars", 0.0)
    with pytest.raises(EditNotAllowed):
        check_update(shipped, shipped)


def test_the_document_cannot_claim_a_ship_the_action_did_not_make() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_experiment(experiment_doc(status="shipped"))
    assert "shipped" in caught.value.fields
    bad = {"variant": "nope", "holdout": 0.0, "previous_status": "running"}
    with pytest.raises(ValidationFailed) as unknown:
        parse_experiment(experiment_doc(status="shipped", shipped=bad))
    assert "shipped.variant" in unknown.value.fields


# -- decisions ---------------------------------------------------------------------------


def test_every_reader_gets_the_shipped_variant_whatever_they_were_assigned() -> None:
    shipped = ship(exp(traffic=0.5, holdout=0.2), "five-dollars", 0.0)
    for visitor in READERS[:200]:
        for stored in ("control", HOLDOUT, None):
            ledger = Ledger(assignments={"ask": stored} if stored else {})
            outcome = run(shipped, visitor, ledger)
            assert outcome.reason is None, (visitor, stored)
            assert outcome.variant is not None and outcome.variant.key == "five-dollars"
            # The ledger keeps the test's assignment, so an unship gives it back.
            assert outcome.to_store is None


def test_unshipping_gives_readers_back_their_test_assignment() -> None:
    back = unship(ship(exp(), "five-dollars", 0.0))
    outcome = run(back, ledger=Ledger(assignments={"ask": "control"}))
    assert outcome.variant is not None and outcome.variant.key == "control"


def test_the_shipped_holdout_sees_no_banner_and_is_stable() -> None:
    shipped = ship(exp(), "five-dollars", 0.05)
    held = [v for v in READERS if run(shipped, v).reason == Reason.holdout]
    assert 0.03 < len(held) / len(READERS) < 0.07
    assert held == [v for v in READERS if run(shipped, v).reason == Reason.holdout]
    # A held-out reader stays held out whatever the ledger says about the test.
    assert run(shipped, held[0], Ledger(assignments={"ask": "five-dollars"})).reason == (
        Reason.holdout
    )
    everyone = ship(exp(), "five-dollars", 0.0)
    assert all(run(everyone, v).reason is None for v in held)


def test_caps_and_snoozes_still_hold_for_the_shipped_variant() -> None:
    shipped = ship(exp(caps={"max_impressions": 1, "per_days": 7}), "five-dollars", 0.0)
    capped = Ledger(assignments={"ask": "control"}, impressions={"ask": (EPOCH - 3600,)})
    assert run(shipped, ledger=capped).reason == Reason.capped
    snoozed = Ledger(snoozed_until={"article-end": EPOCH + 60})
    assert run(shipped, ledger=snoozed).reason == Reason.snoozed


def test_targeting_still_decides_who_is_eligible() -> None:
    shipped = ship(exp(targeting={"countries": ["GB"]}), "five-dollars", 0.0)
    assert run(shipped).reason == Reason.not_targeted


def test_a_shipped_experiment_serves_its_placement_and_writes_no_speculative_assignment() -> None:
    shipped = ship(exp(), "five-dollars", 0.0)
    snapshot = build_snapshot([shipped], 1, 0.0)
    assert snapshot.running[Placement.article_end] == (shipped,)
    assert plan([shipped], ctx(), NOW).speculative_assignment is None
    stopped = exp("stopped")
    assert build_snapshot([stopped], 1, 0.0).running == {}
