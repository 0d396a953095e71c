"""Bucketing: deterministic, faithful to the weights, independent across experiments."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.bucketing import HOLDOUT, bucket, pick_by_weight, unit_draw
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

N = 100_000
VISITORS = [f"visitor-{i:08d}" for i in range(N)]


def experiment(key: str = "exp-a", weights: tuple[float, ...] = (50, 50), **extra: object):
    doc = experiment_doc(key=key, **extra)
    base = doc["variants"][0]
    doc["variants"] = [{**base, "key": f"v{i}", "weight": w} for i, w in enumerate(weights)]
    return parse_experiment(doc)


@given(st.text(min_size=1, max_size=40), st.text(min_size=8, max_size=64))
def test_draws_are_deterministic_and_in_range(seed: str, visitor: str) -> None:
    first = unit_draw(seed, "variant", visitor)
    assert first == unit_draw(seed, "variant", visitor)
    assert 0.0 <= first < 1.0


@given(
    st.lists(st.floats(min_value=0.001, max_value=1000), min_size=1, max_size=10),
    st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_pick_returns_a_valid_index(weights: list[float], draw: float) -> None:
    index = pick_by_weight(weights, draw)
    assert 0 <= index < len(weights)


def test_pick_respects_cumulative_boundaries() -> None:
    assert pick_by_weight([1, 3], 0.24) == 0
    assert pick_by_weight([1, 3], 0.26) == 1
    assert pick_by_weight([1, 3], 0.999999) == 1


@pytest.mark.parametrize("weights", [(50, 50), (20, 30, 50), (10, 90), (1, 1, 1, 1, 1)])
def test_observed_shares_are_within_one_percent_of_the_weights(weights: tuple[int, ...]) -> None:
    exp = experiment(weights=weights)
    counts = Counter(bucket(exp, v).assignment for v in VISITORS)
    total = sum(weights)
    for i, weight in enumerate(weights):
        assert abs(counts[f"v{i}"] / N - weight / total) < 0.01, (weights, counts)


def test_assignment_in_one_experiment_is_independent_of_another() -> None:
    a, b = experiment("exp-a"), experiment("exp-b")
    joint = Counter((bucket(a, v).assignment, bucket(b, v).assignment) for v in VISITORS)
    # Independence: within each arm of A, B's split is still 50/50.
    for arm in ("v0", "v1"):
        in_arm = joint[(arm, "v0")] + joint[(arm, "v1")]
        assert abs(joint[(arm, "v0")] / in_arm - 0.5) < 0.01


def test_a_shared_seed_makes_experiments_agree() -> None:
    a = experiment("exp-a", seed="shared")
    b = experiment("exp-b", seed="shared")
    assert all(bucket(a, v).assignment == bucket(b, v).assignment for v in VISITORS[:2000])


def test_traffic_and_holdout_shares() -> None:
    exp = experiment(traffic=0.3, holdout=0.1)
    buckets = [bucket(exp, v) for v in VISITORS]
    in_traffic = sum(b.in_traffic for b in buckets) / N
    held_out = sum(b.assignment == HOLDOUT for b in buckets) / N
    assert abs(in_traffic - 0.3) < 0.01
    assert abs(held_out - 0.1) < 0.01


def test_raising_traffic_keeps_everyone_already_inside() -> None:
    small, large = experiment(traffic=0.2), experiment(traffic=0.5)
    inside_small = {v for v in VISITORS[:20_000] if bucket(small, v).in_traffic}
    inside_large = {v for v in VISITORS[:20_000] if bucket(large, v).in_traffic}
    assert inside_small <= inside_large
