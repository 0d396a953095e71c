"""Intervals for one arm's own metric (not a comparison): the normal approximation the
daily charts draw as bands around each variant's cumulative rate."""

from __future__ import annotations

import math
from statistics import NormalDist

from service.stats.summaries import SampleStats


def mean_interval(stats: SampleStats, alpha: float) -> tuple[float, float] | None:
    """mean ± z(1 - alpha/2) * sd / sqrt(n) (Wald; for a proportion sd = sqrt(p(1 - p))).
    None when it cannot be computed (fewer than 2 visitors)."""
    if stats.n < 2:
        return None
    half = NormalDist().inv_cdf(1 - alpha / 2) * math.sqrt(max(stats.variance, 0.0) / stats.n)
    low, high = stats.mean - half, stats.mean + half
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return low, high
