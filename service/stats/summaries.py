"""Per-arm sufficient statistics: visitor count, sum and sum of squares of a per-visitor metric.

Reports aggregate per-visitor outcomes in SQL (DESIGN §4) and hand over only these three
numbers per arm; every test in this package is a function of them, as in gbstats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["mean", "proportion"]


@dataclass(frozen=True, slots=True)
class SampleStats:
    """n visitors whose metric values x_i have Σx_i = sum and Σx_i² = sum_squares.

    kind "proportion" marks a 0/1 metric (conversion rate), where sum_squares == sum and the
    variance is the binomial p(1 - p), as gbstats' ProportionStatistic; kind "mean" uses the
    sample variance with n - 1 (gbstats' SampleMeanStatistic). Build proportions with
    `SampleStats.proportion` so the two kinds are never mixed up.

    Construction checks what no SQL aggregate can produce (negative counts, non-finite sums,
    more conversions than visitors) and raises ValueError: that is a caller's bug, not a
    degenerate experiment. Degenerate but valid data (n = 0, no variance) is accepted here and
    answered with a reason by `compare`.
    """

    n: int
    sum: float
    sum_squares: float
    kind: MetricKind = "mean"

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"n must be a non-negative integer, got {self.n!r}")
        if not (math.isfinite(self.sum) and math.isfinite(self.sum_squares)):
            raise ValueError("sum and sum_squares must be finite")
        if self.sum_squares < 0:
            raise ValueError("sum_squares cannot be negative")
        if self.kind == "proportion":
            if self.sum != self.sum_squares:
                raise ValueError("a proportion has sum_squares == sum (each value is 0 or 1)")
            if not 0 <= self.sum <= self.n:
                raise ValueError("a proportion needs 0 <= conversions <= n")
        elif self.kind != "mean":
            raise ValueError(f"kind must be 'mean' or 'proportion', got {self.kind!r}")

    @classmethod
    def proportion(cls, n: int, conversions: float) -> SampleStats:
        """A conversion-rate arm: n visitors of whom `conversions` converted (x_i ∈ {0, 1})."""
        return cls(n=n, sum=conversions, sum_squares=conversions, kind="proportion")

    @classmethod
    def of_values(cls, values: Iterable[float]) -> SampleStats:
        """A "mean" arm from raw per-visitor values (handy in tests and small reports)."""
        n, total, squares = 0, 0.0, 0.0
        for value in values:
            n += 1
            total += value
            squares += value * value
        return cls(n=n, sum=total, sum_squares=squares)

    @property
    def mean(self) -> float:
        """sum / n, and 0 for an empty arm (as gbstats) so that callers can always display it."""
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Per-visitor variance; 0 when undefined (n ≤ 1), never negative.

        proportion: p(1 - p) (gbstats ProportionStatistic.variance);
        mean: (Σx² - (Σx)²/n) / (n - 1) (gbstats SampleMeanStatistic.variance). Rounding can
        make the numerator slightly negative when all values are equal; that reads as 0.
        """
        if self.kind == "proportion":
            p = self.mean
            return max(0.0, p * (1.0 - p))
        if self.n <= 1:
            return 0.0
        return max(0.0, (self.sum_squares - self.sum * self.sum / self.n) / (self.n - 1))
