"""Who a shipped experiment's holdout counts, and the report part that compares it with the
shipped variant (service/domain/shipped_holdout.py, report_since_shipping.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.domain.arm_totals import ArmTotals
from service.domain.bucketing import HOLDOUT
from service.domain.experiment import Experiment
from service.domain.ledger import Ledger, holdout_exposure_field, parse_ledger
from service.domain.lifecycle import ship
from service.domain.report_model import VsBayesian
from service.domain.report_since_shipping import counted_since, since_shipping
from service.domain.shipped_holdout import exposure_due, holdout_event_id
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

NOW = datetime(2026, 12, 1, 10, 20, tzinfo=UTC)
KEY = "monthly-ask"


def shipped(holdout: float = 0.1, **analysis: object) -> Experiment:
    doc = experiment_doc(status="running")
    doc["analysis"] = {**doc.get("analysis", {}), **analysis}
    return ship(parse_experiment(doc), "five-dollars", holdout)


def test_only_readers_the_test_never_showed_a_banner_are_counted_hourly_at_most() -> None:
    experiment = shipped()
    assert exposure_due(experiment, Ledger(), NOW)
    tested = Ledger(last_impressions={KEY: NOW.timestamp() - 86_400})
    assert not exposure_due(experiment, tested, NOW)
    stamped = parse_ledger({holdout_exposure_field(KEY): f"{NOW.timestamp() - 600:.3f}"})
    assert stamped.holdout_exposures == {KEY: pytest.approx(NOW.timestamp() - 600)}
    assert not exposure_due(experiment, stamped, NOW)
    stale = parse_ledger({holdout_exposure_field(KEY): f"{NOW.timestamp() - 3600:.3f}"})
    assert exposure_due(experiment, stale, NOW)
    running = parse_experiment(experiment_doc(status="running", holdout=0.2))
    assert not exposure_due(running, Ledger(), NOW)  # the test's own holdout: not counted
    assert holdout_event_id(KEY, "v" * 64) == holdout_event_id(KEY, "v" * 64)
    assert len(holdout_event_id("k" * 40, "v" * 64)) == 35


def test_counting_starts_at_the_first_whole_hour_after_the_ship() -> None:
    assert counted_since(NOW) == datetime(2026, 12, 1, 11, tzinfo=UTC)
    on_the_hour = datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert counted_since(on_the_hour) == on_the_hour


def test_the_holdout_is_the_baseline_in_the_experiments_engine_without_guardrails() -> None:
    experiment = shipped(0.1, engine="bayesian", guardrails=["close_rate"])
    totals = [
        ArmTotals(
            HOLDOUT,
            visitors=1000,
            converters=40,
            revenue_capped=400.0,
            revenue_capped_squares=4000.0,
            revenue=400.0,
        ),
        ArmTotals(
            "five-dollars",
            visitors=9000,
            converters=540,
            revenue_capped=5400.0,
            revenue_capped_squares=54000.0,
            revenue=5400.0,
            dismiss_close=900,
            close_visitors=900,
            impressions=9000,
        ),
        ArmTotals("control", visitors=500, converters=50),  # a test arm: not in this part
    ]
    part = since_shipping(experiment, NOW, totals, generated_at=NOW)
    assert part is not None
    assert (part.variant, part.holdout, part.since) == ("five-dollars", 0.1, "2026-12-01T11:00:00Z")
    holdout, winner = part.variants
    assert (holdout.key, holdout.weight, holdout.visitors) == (HOLDOUT, 0.1, 1000)
    assert (winner.key, winner.weight, winner.visitors) == ("five-dollars", 0.9, 9000)
    vs = winner.metrics["conversion_rate"].vs_control
    assert isinstance(vs, VsBayesian) and vs.relative_lift == pytest.approx(0.5)
    assert part.srm.mismatch is False
    (verdict,) = part.verdicts
    assert verdict.variant == "five-dollars" and verdict.status == "ahead"


def test_no_part_without_a_holdout() -> None:
    assert since_shipping(shipped(0.0), NOW, [], generated_at=NOW) is None
