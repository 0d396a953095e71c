"""bench/report/cuped_aa: what CUPED does to error rates and interval widths, by simulation.

    .venv/bin/python -m bench.report.cuped_aa [--experiments 1500] [--visitors 400] [--seed 7]

Each simulated experiment draws `visitors` readers per arm. A reader's article count x is
0..29; the more they read the likelier they give (2 % to 95 %), and the more (a log-normal
gift that grows with x): reading predicts giving, as it does on news sites. x is drawn
before the banner, from the same distribution in both arms.

- A/A: both arms alike; with CUPED on, the share of experiments whose conversion-rate or
  revenue-per-visitor p-value falls below alpha = 0.05 (should be ~5 %).
- A/B: the treatment converts 10 % more; the median over experiments of how much narrower
  the CUPED interval is than the plain one, per metric.

The statistics are the report's own (service/stats/compare.py with covariates); only the
per-arm sums it aggregates in SQL are built here. tests/unit/test_cuped_simulation.py runs a
smaller draw and asserts the bounds.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from dataclasses import dataclass

from service.stats.compare import Comparison, compare
from service.stats.cuped import Covariate
from service.stats.summaries import SampleStats

ALPHA = 0.05
METRICS = ("conversion_rate", "revenue_per_visitor")


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm's sums, as report_queries.arm_totals yields them."""

    visitors: int
    converters: int
    revenue: float
    revenue_squares: float
    views: float
    views_squares: float
    views_converted: float
    views_revenue: float

    def sample(self, metric: str) -> tuple[SampleStats, Covariate]:
        if metric == "conversion_rate":
            return (
                SampleStats.proportion(self.visitors, self.converters),
                Covariate(self.views, self.views_squares, self.views_converted),
            )
        return (
            SampleStats(self.visitors, self.revenue, self.revenue_squares),
            Covariate(self.views, self.views_squares, self.views_revenue),
        )


def draw_arm(rng: random.Random, visitors: int, lift: float) -> Arm:
    converters = 0
    revenue = squares = views = view_squares = views_converted = views_revenue = 0.0
    for _ in range(visitors):
        x = rng.randint(0, 29)
        views += x
        view_squares += x * x
        if rng.random() < min(1.0, (0.02 + 0.032 * x) * (1.0 + lift)):
            gift = (5.0 + x) * rng.lognormvariate(0.0, 0.3)
            converters += 1
            revenue += gift
            squares += gift * gift
            views_converted += x
            views_revenue += x * gift
    return Arm(
        visitors, converters, revenue, squares, views, view_squares, views_converted, views_revenue
    )


def _compare(control: Arm, treatment: Arm, metric: str, cuped: bool) -> Comparison:
    (c, cx), (t, tx) = control.sample(metric), treatment.sample(metric)
    result = compare(c, t, alpha=ALPHA, sequential=False, covariates=(cx, tx) if cuped else None)
    assert isinstance(result, Comparison), result
    return result


@dataclass(frozen=True, slots=True)
class Summary:
    experiments: int
    false_positive_rate: dict[str, float]  # A/A with CUPED, per metric
    median_narrowing: dict[str, float]  # A/B: 1 - CUPED width / plain width, per metric
    median_variance_reduction: dict[str, float]  # A/B, as the report states it


def simulate(experiments: int, visitors: int, seed: int) -> Summary:
    rng = random.Random(seed)
    hits = dict.fromkeys(METRICS, 0)
    narrowing: dict[str, list[float]] = {m: [] for m in METRICS}
    reduction: dict[str, list[float]] = {m: [] for m in METRICS}
    for _ in range(experiments):
        control, twin = draw_arm(rng, visitors, 0.0), draw_arm(rng, visitors, 0.0)
        treatment = draw_arm(rng, visitors, 0.1)
        for metric in METRICS:
            hits[metric] += _compare(control, twin, metric, cuped=True).p_value < ALPHA
            adjusted = _compare(control, treatment, metric, cuped=True)
            plain = _compare(control, treatment, metric, cuped=False)
            narrowing[metric].append(
                1.0 - (adjusted.ci[1] - adjusted.ci[0]) / (plain.ci[1] - plain.ci[0])
            )
            reduction[metric].append(adjusted.variance_reduction or 0.0)
    return Summary(
        experiments,
        {m: hits[m] / experiments for m in METRICS},
        {m: statistics.median(narrowing[m]) for m in METRICS},
        {m: statistics.median(reduction[m]) for m in METRICS},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=1500)
    parser.add_argument("--visitors", type=int, default=400, help="readers per arm")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    summary = simulate(args.experiments, args.visitors, args.seed)
    stderr = math.sqrt(ALPHA * (1 - ALPHA) / summary.experiments)
    print(f"{summary.experiments} simulated experiments, {args.visitors} readers per arm")
    for metric in METRICS:
        print(
            f"{metric}: A/A false-positive rate with CUPED "
            f"{summary.false_positive_rate[metric]:.2%} (nominal 5 % ± {stderr:.2%}); "
            f"median interval narrowing {summary.median_narrowing[metric]:.1%}, "
            f"variance removed {summary.median_variance_reduction[metric]:.1%}"
        )


if __name__ == "__main__":
    main()
