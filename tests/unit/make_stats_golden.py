"""Regenerate tests/unit/stats_golden.json: reference values from GrowthBook's gbstats 0.8.0.

gbstats is not a dependency (it pins pandas < 2 and pulls in scipy); run this in a throwaway
virtualenv:

    python3.11 -m venv /tmp/gbvenv && /tmp/gbvenv/bin/pip install gbstats==0.8.0
    /tmp/gbvenv/bin/python tests/unit/make_stats_golden.py

Every number is computed by gbstats' own classes on the inputs listed below, exactly as
gbstats.get_configured_test builds them (ProportionStatistic for 0/1 metrics,
SampleMeanStatistic otherwise; EffectBayesianABTest with its default flat prior; for CUPED,
RegressionAdjustedStatistic with the article count as its pre-statistic, θ set by the test).
"""

from __future__ import annotations

import importlib.metadata
import json
import random
from pathlib import Path
from typing import Any

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig  # type: ignore
from gbstats.frequentist.tests import (  # type: ignore
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (  # type: ignore
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
)
from gbstats.utils import check_srm  # type: ignore

GBSTATS_VERSION = "0.8.0"
TUNING = 5000
OUT = Path(__file__).with_name("stats_golden.json")

# (name, control, treatment, alpha); an arm is (n, conversions) for proportions and
# (n, sum, sum_squares) for means.
PROPORTIONS: list[tuple[str, tuple[int, int], tuple[int, int], float]] = [
    ("conversion, design example", (10412, 212), (10380, 261), 0.05),
    ("conversion, zero effect", (1000, 50), (1000, 50), 0.05),
    ("conversion, negative effect", (1000, 50), (1000, 40), 0.05),
    ("conversion, small n", (50, 5), (60, 9), 0.05),
    ("conversion, tiny n", (5, 1), (7, 3), 0.05),
    ("conversion, few events", (20, 2), (25, 1), 0.05),
    ("conversion, large n", (1_000_000, 20_000), (1_000_000, 20_500), 0.05),
    ("conversion, unequal n", (5000, 100), (15000, 330), 0.05),
    ("conversion, alpha 0.1", (200_000, 4000), (180_000, 3500), 0.1),
    ("conversion, high rate", (3000, 2900), (3000, 2950), 0.05),
    ("conversion, alpha 0.01", (100, 1), (100, 3), 0.01),
    ("conversion, huge effect", (20_000, 200), (20_000, 600), 0.05),
]
MEANS: list[tuple[str, tuple[int, float, float], tuple[int, float, float], float]] = [
    ("revenue, design example", (10412, 3180.0, 96000.0), (10380, 3600.0, 120000.0), 0.05),
    ("revenue, zero effect", (5000, 1500.0, 60000.0), (5000, 1500.0, 58000.0), 0.05),
    ("revenue, negative effect", (8000, 2400.0, 70000.0), (8100, 2000.0, 65000.0), 0.05),
    ("revenue, small n", (12, 30.0, 140.0), (15, 52.5, 260.0), 0.05),
    ("revenue, n = 2", (2, 3.0, 5.0), (2, 7.0, 25.0), 0.05),
    ("revenue, large n", (2_000_000, 610_000.0, 2.2e7), (2_000_000, 640_000.0, 2.4e7), 0.05),
    ("revenue, unequal n", (3000, 900.0, 40000.0), (12000, 3900.0, 150000.0), 0.05),
    ("annualised, alpha 0.1", (50000, 92000.0, 1.9e7), (50000, 99000.0, 2.3e7), 0.1),
    ("revenue, huge effect", (10000, 1000.0, 20000.0), (10000, 3000.0, 60000.0), 0.05),
    ("revenue, alpha 0.01", (4000, 1210.5, 52000.25), (4100, 1320.75, 50500.5), 0.01),
    ("mean, unequal variance", (400, 40.0, 4400.0), (900, 99.0, 400.0), 0.05),
    ("mean, negative treatment mean", (300, 30.0, 1200.0), (300, -150.0, 900.0), 0.05),
]
# Inputs where gbstats declines to compute (it returns an error message and zeros).
DEGENERATE: list[tuple[str, str, tuple[float, ...], tuple[float, ...]]] = [
    ("no control conversions", "proportion", (1000, 0), (1000, 5)),
    ("no conversions anywhere", "proportion", (1000, 0), (1000, 0)),
    ("empty control", "proportion", (0, 0), (1000, 5)),
    ("empty control (mean)", "mean", (0, 0.0, 0.0), (100, 10.0, 30.0)),
    ("no variance (mean)", "mean", (100, 500.0, 2500.0), (100, 500.0, 2500.0)),
]
# CUPED: (name, kind, seed, (n_control, n_treatment), lift, strength, alpha). Each arm's
# per-visitor values are drawn here (the reader's article count x, and y that grows with x by
# `strength`), and only their sums go into the table: n, Σy, Σy², Σx, Σx², Σxy.
REGRESSION_ADJUSTED: list[tuple[str, str, int, tuple[int, int], float, float, float]] = [
    ("cuped conversion, reading predicts giving", "proportion", 1, (4000, 4100), 0.15, 0.8, 0.05),
    ("cuped conversion, weak covariate", "proportion", 2, (3000, 2900), 0.0, 0.1, 0.05),
    ("cuped conversion, small n", "proportion", 3, (120, 140), 0.3, 0.8, 0.1),
    ("cuped revenue, reading predicts giving", "mean", 4, (5000, 5200), 0.1, 0.9, 0.05),
    ("cuped revenue, negative effect", "mean", 5, (2500, 2500), -0.2, 0.6, 0.05),
    ("cuped revenue, alpha 0.01", "mean", 6, (8000, 7000), 0.05, 0.5, 0.01),
]
SRM: list[tuple[list[int], list[float]]] = [
    ([5000, 5000], [50, 50]),
    ([26000, 24000], [50, 50]),
    ([5040, 4960], [50, 50]),
    ([1000, 1100, 950], [1, 1, 1]),
    ([100, 210], [1, 2]),
    ([10, 30], [0.5, 0.5]),
    ([33, 34, 31, 40], [25, 25, 25, 25]),
    ([7, 20], [1, 1]),
    ([2, 40], [1, 1]),
    ([100_000, 90_000], [1, 1]),
    ([2012, 1003, 985], [50, 25, 25]),
    ([0, 0], [1, 1]),
]


def statistic(kind: str, arm: tuple[float, ...]) -> Any:
    if kind == "proportion":
        return ProportionStatistic(n=int(arm[0]), sum=float(arm[1]))
    return SampleMeanStatistic(n=int(arm[0]), sum=float(arm[1]), sum_squares=float(arm[2]))


def results(
    kind: str, control: tuple[float, ...], treatment: tuple[float, ...], alpha: float
) -> Any:
    out: dict[str, Any] = {}
    for difference in ("relative", "absolute"):
        a, b = statistic(kind, control), statistic(kind, treatment)
        fixed = TwoSidedTTest(a, b, FrequentistConfig(difference_type=difference, alpha=alpha))
        a, b = statistic(kind, control), statistic(kind, treatment)
        seq = SequentialTwoSidedTTest(
            a,
            b,
            SequentialConfig(
                difference_type=difference, alpha=alpha, sequential_tuning_parameter=TUNING
            ),
        )
        a, b = statistic(kind, control), statistic(kind, treatment)
        # prior_type equal to the difference type, so the (unused) flat prior needs no rescaling
        bayes = EffectBayesianABTest(
            a,
            b,
            EffectBayesianConfig(difference_type=difference, alpha=alpha, prior_type=difference),
        )
        f, s, r = fixed.compute_result(), seq.compute_result(), bayes.compute_result()
        out[difference] = {
            "fixed": {
                "estimate": float(f.expected),
                "ci": [float(x) for x in f.ci],
                "p_value": float(f.p_value),
                "error": f.error_message,
            },
            "sequential": {
                "estimate": float(s.expected),
                "ci": [float(x) for x in s.ci],
                "p_value": float(s.p_value),
                "error": s.error_message,
            },
            "bayesian": {
                "chance_to_win": float(r.chance_to_win),
                "risk_control": float(r.risk[0]),
                "risk_treatment": float(r.risk[1]),
                "risk_type": r.risk_type,
                # In the units of the difference type, like the risk (gbstats credible_interval).
                "ci": [float(x) for x in r.ci],
                "error": r.error_message,
            },
        }
    return out


def draw(
    kind: str, seed: int, n: int, lift: float, strength: float
) -> tuple[tuple[float, ...], tuple[float, float, float]]:
    """One arm's sums: ((n, Σy, Σy²) or (n, conversions), (Σx, Σx², Σxy))."""
    rng = random.Random(seed)
    sums = [0.0] * 5
    for _ in range(n):
        x = float(rng.randint(0, 30))
        propensity = min(0.95, 0.02 * (1 + lift) * (1 + strength * x / 3))
        if kind == "proportion":
            y = 1.0 if rng.random() < propensity else 0.0
        else:
            y = round(rng.expovariate(1 / 25) * (1 + lift), 2) if rng.random() < propensity else 0.0
        for i, value in enumerate((y, y * y, x, x * x, x * y)):
            sums[i] += value
    y_sum, y_squares, x_sum, x_squares, products = sums
    metric = (n, y_sum) if kind == "proportion" else (n, y_sum, y_squares)
    return metric, (x_sum, x_squares, products)


def adjusted_statistic(
    kind: str, metric: tuple[float, ...], covariate: tuple[float, float, float]
) -> Any:
    return RegressionAdjustedStatistic(
        n=int(metric[0]),
        post_statistic=statistic(kind, metric),
        pre_statistic=SampleMeanStatistic(
            n=int(metric[0]), sum=covariate[0], sum_squares=covariate[1]
        ),
        post_pre_sum_of_products=covariate[2],
        theta=0,
    )


def adjusted_results(kind: str, control: Any, treatment: Any, alpha: float) -> Any:
    """gbstats' regression-adjusted fixed and sequential t-tests (θ set by BaseABTest)."""
    out: dict[str, Any] = {}
    for difference in ("relative", "absolute"):
        parts = {}
        for part, test, config in (
            ("fixed", TwoSidedTTest, FrequentistConfig(difference_type=difference, alpha=alpha)),
            (
                "sequential",
                SequentialTwoSidedTTest,
                SequentialConfig(
                    difference_type=difference, alpha=alpha, sequential_tuning_parameter=TUNING
                ),
            ),
        ):
            a = adjusted_statistic(kind, *control)
            b = adjusted_statistic(kind, *treatment)
            result = test(a, b, config).compute_result()
            if result.error_message:
                raise SystemExit(f"gbstats declined: {result.error_message}")
            parts[part] = {
                "estimate": float(result.expected),
                "ci": [float(x) for x in result.ci],
                "p_value": float(result.p_value),
            }
        out[difference] = parts
    a, b = adjusted_statistic(kind, *control), adjusted_statistic(kind, *treatment)
    out["theta"] = float(compute_theta(a, b))
    return out


def adjusted_arm_dict(kind: str, metric: tuple[float, ...], cov: tuple[float, ...]) -> Any:
    return {
        **arm_dict(kind, metric),
        "covariate": {"sum": cov[0], "sum_squares": cov[1], "sum_products": cov[2]},
    }


def arm_dict(kind: str, arm: tuple[float, ...]) -> dict[str, Any]:
    if kind == "proportion":
        return {"n": int(arm[0]), "conversions": arm[1]}
    return {"n": int(arm[0]), "sum": arm[1], "sum_squares": arm[2]}


def main() -> None:
    version = importlib.metadata.version("gbstats")
    if version != GBSTATS_VERSION:
        raise SystemExit(f"need gbstats {GBSTATS_VERSION}, found {version}")
    cases = []
    for kind, table in (("proportion", PROPORTIONS), ("mean", MEANS)):
        for name, control, treatment, alpha in table:
            expected = results(kind, control, treatment, alpha)
            for difference in ("relative", "absolute"):
                for part in ("fixed", "sequential", "bayesian"):
                    if expected[difference][part]["error"]:
                        raise SystemExit(f"{name}: gbstats declined: {expected[difference]}")
            cases.append(
                {
                    "name": name,
                    "kind": kind,
                    "alpha": alpha,
                    "control": arm_dict(kind, control),
                    "treatment": arm_dict(kind, treatment),
                    "expected": expected,
                }
            )
    degenerate = []
    for name, kind, control, treatment in DEGENERATE:
        relative = results(kind, control, treatment, 0.05)["relative"]
        errors = {part: relative[part]["error"] for part in ("fixed", "sequential", "bayesian")}
        if not all(errors.values()):
            raise SystemExit(f"{name}: gbstats computed a result: {relative}")
        degenerate.append(
            {
                "name": name,
                "kind": kind,
                "control": arm_dict(kind, control),
                "treatment": arm_dict(kind, treatment),
                "gbstats_errors": errors,
            }
        )
    adjusted = []
    for name, kind, seed, (n_c, n_t), lift, strength, alpha in REGRESSION_ADJUSTED:
        control = draw(kind, seed, n_c, 0.0, strength)
        treatment = draw(kind, seed + 1000, n_t, lift, strength)
        adjusted.append(
            {
                "name": name,
                "kind": kind,
                "alpha": alpha,
                "control": adjusted_arm_dict(kind, *control),
                "treatment": adjusted_arm_dict(kind, *treatment),
                "expected": adjusted_results(kind, control, treatment, alpha),
            }
        )
    srm = [
        {"observed": observed, "weights": weights, "p_value": float(check_srm(observed, weights))}
        for observed, weights in SRM
    ]
    document = {
        "source": f"gbstats {version}, sequential_tuning_parameter={TUNING}",
        "generator": "tests/unit/make_stats_golden.py",
        "cases": cases,
        "degenerate": degenerate,
        "regression_adjusted": adjusted,
        "srm": srm,
    }
    OUT.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases, {len(degenerate)} degenerate, {len(srm)} srm to {OUT}")


if __name__ == "__main__":
    main()
