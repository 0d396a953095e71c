"""Thompson sampling: the posterior probability that each arm is the best, by simulation.

Each of `draws` rounds draws one value of every arm's mean from its posterior and credits the
arm with the largest draw; P(best) is the share of rounds an arm won. Randomised probability
matching (Thompson, Biometrika 25, 1933; Scott, "A modern Bayesian look at the multi-armed
bandit", 2010) then sends traffic in proportion to P(best).

Posteriors, one per metric kind (see summaries.SampleStats):
- proportion (conversion rate): Beta(1 + conversions, 1 + n - conversions), a uniform prior;
- mean (revenue or annualised value per visitor): N(mean, variance / n), the same flat-prior
  Gaussian approximation of a sample mean the Bayesian comparison uses (bayesian.py).
The generator is passed in, so the same seed gives the same answer on every replica.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from service.stats.summaries import SampleStats

DEFAULT_DRAWS = 10_000


def chance_to_be_best(
    arms: Sequence[SampleStats], rng: random.Random, *, draws: int = DEFAULT_DRAWS
) -> list[float]:
    """P(arm has the largest mean | data) for each arm, in order; they add up to 1.

    Ties (possible when a mean's posterior has no spread) go to one of the tied arms at random,
    so no arm is favoured for its position."""
    if not arms:
        return []
    if draws < 1:
        raise ValueError(f"draws must be at least 1, not {draws}")
    samplers = [_sampler(arm, rng) for arm in arms]
    wins = [0] * len(arms)
    for _ in range(draws):
        values = [sample() for sample in samplers]
        best = max(values)
        leaders = [i for i, value in enumerate(values) if value == best]
        wins[leaders[0] if len(leaders) == 1 else rng.choice(leaders)] += 1
    return [count / draws for count in wins]


def _sampler(arm: SampleStats, rng: random.Random) -> Callable[[], float]:
    if arm.kind == "proportion":
        alpha = 1.0 + arm.sum
        beta = 1.0 + arm.n - arm.sum
        return lambda: rng.betavariate(alpha, beta)
    if arm.n < 2:
        raise ValueError("a mean's posterior needs at least 2 visitors")
    mean = arm.mean
    spread = math.sqrt(arm.variance / arm.n)
    return lambda: rng.gauss(mean, spread)
