"""The bandit's pure core: its knobs in the experiment document, Thompson sampling, and the
rule that turns evidence into weights (floor, minimum exploration, cadence slots)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.arm_totals import ArmTotals
from service.domain.bandit import (
    MIN_MOVE,
    is_due,
    plan_weights,
    shares,
    slot_rng,
    slot_start,
    with_weights,
)
from service.domain.errors import ValidationFailed
from service.domain.experiment import BanditSettings, Experiment
from service.schemas.experiment import parse_experiment
from service.stats.summaries import SampleStats
from service.stats.thompson import chance_to_be_best
from tests.support import banner, experiment_doc


def bandit_experiment(variants: int = 2, **overrides: Any) -> Experiment:
    keys = ["control", "treatment", "third", "fourth"][:variants]
    doc = experiment_doc(
        allocation="bandit",
        analysis={"primary_metric": "conversion_rate"},
        variants=[{"key": key, "weight": 50, "banner": banner()} for key in keys],
    )
    doc.update(overrides)
    return parse_experiment(doc)


def arm(key: str, visitors: int, converters: int, revenue: float = 0.0) -> ArmTotals:
    return ArmTotals(
        key,
        visitors=visitors,
        converters=converters,
        revenue_capped=revenue,
        revenue_capped_squares=revenue * 20,  # as if every gift were $20
    )


def errors_of(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_experiment(doc)
    return caught.value.fields


# --- the knobs in the document ---------------------------------------------------------------


def test_bandit_knobs_default_and_round_trip() -> None:
    assert bandit_experiment().bandit == BanditSettings(0.1, 100, 20, 60)
    knobs = {"floor": 0.2, "min_visitors": 500, "min_conversions": 0, "cadence_minutes": 30}
    experiment = bandit_experiment(bandit=knobs)
    assert experiment.bandit == BanditSettings(0.2, 500, 0, 30)
    document = json.loads(json.dumps(experiment.to_document()))
    assert document["bandit"] == knobs
    assert parse_experiment(document) == experiment


@pytest.mark.parametrize(
    ("knobs", "path", "message"),
    [
        ({"floor": 0}, "bandit.floor", "greater than 0"),
        ({"floor": 0.6}, "bandit.floor", "at most 0.5"),
        ({"floor": "10%"}, "bandit.floor", "must be a number"),
        ({"min_visitors": 1}, "bandit.min_visitors", "between 2 and"),
        ({"min_conversions": -1}, "bandit.min_conversions", "between 0 and"),
        ({"cadence_minutes": 1}, "bandit.cadence_minutes", "between 5 and 10080"),
        ({"cadence_minutes": 60.5}, "bandit.cadence_minutes", "whole number"),
        ({"explore": True}, "bandit.explore", "unknown field"),
    ],
)
def test_bad_knobs_are_named_by_their_path(knobs: dict[str, Any], path: str, message: str) -> None:
    doc = experiment_doc(allocation="bandit", bandit=knobs)
    assert message in errors_of(doc)[path]


def test_the_floors_of_all_variants_must_fit_in_the_traffic() -> None:
    doc = experiment_doc(
        allocation="bandit",
        bandit={"floor": 0.4},
        variants=[{"key": k, "banner": banner()} for k in ("a", "b", "c")],
    )
    assert errors_of(doc)["bandit.floor"] == (
        "times the 3 variants must be at most 1 (at most 0.3333 each)"
    )
    doc["bandit"] = {"floor": 0.3333}
    assert parse_experiment(doc).bandit.floor == 0.3333


def test_a_bandit_needs_two_variants() -> None:
    doc = experiment_doc(allocation="bandit", variants=[{"key": "only", "banner": banner()}])
    assert "at least two variants" in errors_of(doc)["allocation"]


# --- Thompson sampling -----------------------------------------------------------------------


def test_chance_to_be_best_is_deterministic_given_the_seed() -> None:
    arms = [SampleStats.proportion(1000, 20), SampleStats.proportion(1000, 26)]
    first = chance_to_be_best(arms, random.Random(7), draws=2000)
    assert first == chance_to_be_best(arms, random.Random(7), draws=2000)
    assert first != chance_to_be_best(arms, random.Random(8), draws=2000)
    assert sum(first) == pytest.approx(1.0)


def test_beta_posteriors_rank_the_arms() -> None:
    rng = random.Random(1)
    even = chance_to_be_best([SampleStats.proportion(2000, 40)] * 2, rng)
    assert even == pytest.approx([0.5, 0.5], abs=0.02)
    clear = chance_to_be_best(
        [SampleStats.proportion(2000, 40), SampleStats.proportion(2000, 80)], rng
    )
    assert clear[1] > 0.999
    arms = [SampleStats.proportion(500, converted) for converted in (10, 11, 25)]
    three = chance_to_be_best(arms, rng)
    assert three[2] > 0.98 and three[0] < three[1]


def test_gaussian_posteriors_match_the_closed_form_for_two_arms() -> None:
    control = SampleStats.of_values([0.0] * 950 + [10.0] * 50)  # mean 0.5
    treatment = SampleStats.of_values([0.0] * 940 + [10.0] * 60)  # mean 0.6
    chance = chance_to_be_best([control, treatment], random.Random(3), draws=40_000)
    se = math.sqrt(control.variance / control.n + treatment.variance / treatment.n)
    exact = NormalDist().cdf((treatment.mean - control.mean) / se)
    assert chance[1] == pytest.approx(exact, abs=0.01)


def test_ties_are_shared_rather_than_given_to_the_first_arm() -> None:
    flat = SampleStats.of_values([1.0] * 10)  # no spread: every draw is exactly 1.0
    chance = chance_to_be_best([flat, flat], random.Random(5), draws=4000)
    assert chance == pytest.approx([0.5, 0.5], abs=0.03)


# --- the allocation rule ---------------------------------------------------------------------


def test_until_every_arm_has_explored_enough_the_split_stays_even() -> None:
    experiment = with_weights(bandit_experiment(), {"control": 70, "treatment": 30})
    totals = {"control": arm("control", 5000, 100), "treatment": arm("treatment", 99, 19)}
    plan = plan_weights(experiment, totals, random.Random(1))
    assert plan.weights == {"control": 50.0, "treatment": 50.0}
    assert plan.changed  # from 70/30 back to even
    assert plan.reason.startswith("exploring:")
    assert "100 visitors and 20 conversions" in plan.reason
    assert "treatment has 99 and 19" in plan.reason and "control has" not in plan.reason
    again = plan_weights(bandit_experiment(), totals, random.Random(1))
    assert not again.changed  # already even: nothing to apply


def test_a_clearly_better_arm_gets_all_but_the_floor() -> None:
    totals = {"control": arm("control", 3000, 60), "treatment": arm("treatment", 3000, 120)}
    plan = plan_weights(bandit_experiment(), totals, random.Random(1))
    assert plan.changed
    assert plan.weights == {"control": 10.0, "treatment": 90.0}
    assert "P(best) treatment 100%" in plan.reason
    assert plan.details["arms"]["treatment"]["p_best"] == 1.0
    assert plan.details["arms"]["control"] == {"visitors": 3000, "conversions": 60, "p_best": 0.0}


def test_weights_follow_the_chance_to_be_best_above_the_floor() -> None:
    experiment = bandit_experiment(3, bandit={"floor": 0.2})
    totals = {
        "control": arm("control", 1000, 20),
        "treatment": arm("treatment", 1000, 24),
        "third": arm("third", 1000, 22),
    }
    plan = plan_weights(experiment, totals, random.Random(2))
    chances = [plan.details["arms"][k]["p_best"] for k in ("control", "treatment", "third")]
    for key, chance in zip(("control", "treatment", "third"), chances, strict=True):
        assert plan.weights[key] == pytest.approx(20 + 40 * chance, abs=0.011)
    assert sum(plan.weights.values()) == pytest.approx(100.0)


def test_a_move_within_the_noise_is_not_made() -> None:
    totals = {"control": arm("control", 1000, 20), "treatment": arm("treatment", 1000, 21)}
    first = plan_weights(bandit_experiment(), totals, random.Random(1))
    assert first.changed
    moved = with_weights(bandit_experiment(), first.weights)
    nudged = {k: v + (0.4 if k == "treatment" else -0.4) for k, v in first.weights.items()}
    plan = plan_weights(with_weights(bandit_experiment(), nudged), totals, random.Random(1))
    assert not plan.changed
    assert plan.weights == nudged
    assert f"no variant would move by {MIN_MOVE:.0%}" in plan.reason
    assert not plan_weights(moved, totals, random.Random(1)).changed


def test_revenue_is_sampled_from_a_gaussian_posterior() -> None:
    experiment = bandit_experiment(analysis={"primary_metric": "revenue_per_visitor"})
    totals = {
        "control": arm("control", 2000, 40, revenue=800.0),
        "treatment": arm("treatment", 2000, 40, revenue=1600.0),
    }
    plan = plan_weights(experiment, totals, random.Random(1))
    assert plan.details["metric"] == "revenue_per_visitor"
    assert plan.weights["treatment"] > 85


@settings(max_examples=200, deadline=None)
@given(
    arms=st.integers(2, 6),
    floor_units=st.integers(1, 5000),
    raw=st.lists(st.floats(0, 1), min_size=6, max_size=6),
)
def test_rounded_weights_never_break_the_floor_and_add_up(
    arms: int, floor_units: int, raw: list[float]
) -> None:
    floor = min(floor_units / 10_000, 1 / arms)
    keys = [f"v{i}" for i in range(arms)]
    experiment = parse_experiment(
        experiment_doc(
            allocation="bandit",
            bandit={"floor": floor, "min_visitors": 2, "min_conversions": 0},
            variants=[{"key": k, "banner": banner()} for k in keys],
        )
    )
    totals = {k: arm(k, 1000, int(r * 200)) for k, r in zip(keys, raw, strict=False)}
    plan = plan_weights(experiment, totals, random.Random(0), draws=50)
    assert sum(shares(plan.weights).values()) == pytest.approx(1.0)
    assert all(share >= floor - 1e-4 for share in shares(plan.weights).values())
    if plan.changed:  # new weights: whole units of 0.01 % adding up to exactly 100 %
        units = [round(w * 100) for w in plan.weights.values()]
        assert all(abs(round(w * 100) - w * 100) < 1e-6 for w in plan.weights.values())
        assert sum(units) == 10_000
        least = min(math.ceil(floor * 10_000 - 1e-6), 10_000 // arms)
        assert min(units) >= least


def test_slots_are_aligned_on_the_epoch_and_due_once_each() -> None:
    now = datetime(2026, 11, 28, 13, 47, 5, tzinfo=UTC)
    assert slot_start(now, 60) == datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
    assert slot_start(now, 15) == datetime(2026, 11, 28, 13, 45, tzinfo=UTC)
    assert is_due(None, now, 60)
    assert is_due(now - timedelta(hours=1), now, 60)
    assert not is_due(datetime(2026, 11, 28, 13, 0, tzinfo=UTC), now, 60)
    assert not is_due(datetime(2026, 11, 28, 13, 30, tzinfo=UTC), now, 60)
    slot = slot_start(now, 60)
    assert slot_rng("a", slot).random() == slot_rng("a", slot).random()
    assert slot_rng("a", slot).random() != slot_rng("b", slot).random()
