"""Reports of bandit experiments: lifts stratified by weight period stay unbiased when the
weights move while the base rate drifts, where pooling every arm's visitors is biased."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from service.domain.arm_totals import ArmTotals, DayTotals, StratumTotals
from service.domain.bandit import WeightChange
from service.domain.bandit_report import (
    POOLED,
    STRATIFIED,
    bandit_view,
    stratum_boundaries,
    weight_periods,
)
from service.domain.experiment import Experiment
from service.domain.report import build_report as build_typed_report
from service.domain.report_model import report_json
from service.schemas.experiment import parse_experiment
from service.stats.compare import Comparison, compare
from service.stats.srm import srm_p_value
from service.stats.stratified import collapse_sparse, stratified, stratified_prefixes
from service.stats.summaries import SampleStats
from tests.support import banner, experiment_doc

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
SWITCH = START + timedelta(days=3, hours=6)
NOW = START + timedelta(days=7)


def build_report(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report as the API serves it: these tests read its JSON."""
    return report_json(build_typed_report(*args, **kwargs))


def bandit(**analysis: Any) -> Experiment:
    return parse_experiment(
        experiment_doc(
            allocation="bandit",
            analysis={"primary_metric": "conversion_rate", **analysis},
            variants=[
                {"key": "control", "weight": 10, "banner": banner()},
                {"key": "treatment", "weight": 90, "banner": banner()},
            ],
        )
    )


HISTORY = [
    WeightChange(
        START, {"control": 50, "treatment": 50}, "weights when the experiment started", {}
    ),
    WeightChange(START + timedelta(hours=1), {"control": 50, "treatment": 50}, "exploring", {}),
    WeightChange(SWITCH, {"control": 10.0, "treatment": 90.0}, "Thompson sampling", {}),
]


def binomial(rng: random.Random, n: int, p: float) -> int:
    """An exact binomial draw by geometric skips between successes (O(n·p) steps)."""
    count, position, log_q = 0, 0, math.log1p(-p)
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1
        if position > n:
            return count
        count += 1


def cell(variant: str, n: int, converters: int) -> ArmTotals:
    return ArmTotals(variant, visitors=n, converters=converters, conversions=converters)


def simulate(
    rng: random.Random, rates: dict[str, tuple[float, float]]
) -> tuple[list[ArmTotals], list[StratumTotals]]:
    """Two periods of 20,000 visitors: 50/50 while the base rate is high, then 10/90 once it
    has dropped. `rates[arm]` is the arm's true rate in each period."""
    strata: list[StratumTotals] = []
    pooled = {key: cell(key, 0, 0) for key in rates}
    for index, split in ((-1, {"control": 0.5, "treatment": 0.5}), (0, {"control": 0.1})):
        for key, period_rates in rates.items():
            n = round(20_000 * split.get(key, 0.9))
            got = cell(key, n, binomial(rng, n, period_rates[index + 1]))
            strata.append(StratumTotals(index, got))
            pooled[key] = pooled[key] + got
    return list(pooled.values()), strata


def report_of(
    rows: list[ArmTotals], strata: list[StratumTotals] | None, history: list[WeightChange]
) -> dict[str, Any]:
    experiment = bandit()
    view = bandit_view(experiment, history, [SWITCH], strata)
    out = build_report(
        experiment, rows, [], generated_at=NOW, start=None, end=None, segment=None, bandit=view
    )
    json.dumps(out, allow_nan=False)
    return out


def lift(report: dict[str, Any]) -> dict[str, Any]:
    return report["variants"][1]["metrics"]["conversion_rate"]["vs_control"]  # type: ignore[no-any-return]


def test_pooling_is_biased_when_weights_move_with_the_base_rate_and_stratifying_is_not() -> None:
    # No real difference between the arms: both convert 4 % early on and 2 % later. The
    # treatment got 90 % of the late, low-converting traffic, so pooled it looks worse.
    rng = random.Random(20261128)
    same = {"control": (0.04, 0.02), "treatment": (0.04, 0.02)}
    naive, fair, covered = [], [], 0
    runs = 200
    for _ in range(runs):
        rows, strata = simulate(rng, same)
        naive.append(lift(report_of(rows, None, HISTORY))["relative_lift"])
        result = lift(report_of(rows, strata, HISTORY))
        fair.append(result["relative_lift"])
        low, high = result["ci"]
        covered += low <= 0.0 <= high
    # The expected pooled lift: treatment (10,000·4 % + 18,000·2 %) / 28,000 = 2.71 % against
    # control (10,000·4 % + 2,000·2 %) / 12,000 = 3.67 %, i.e. -26 %.
    assert sum(naive) / runs == pytest.approx(-0.26, abs=0.02)
    assert sum(fair) / runs == pytest.approx(0.0, abs=0.01)
    # The stratified 95 % interval covers the true lift about 95 % of the time.
    assert covered / runs >= 0.91


def test_a_real_lift_is_recovered_under_moving_weights() -> None:
    rng = random.Random(7)
    better = {"control": (0.04, 0.02), "treatment": (0.05, 0.025)}  # +25 % in both periods
    rows, strata = simulate(rng, better)
    report = report_of(rows, strata, HISTORY)
    assert report["estimator"] == STRATIFIED
    result = lift(report)
    assert result["ci"][0] < 0.25 < result["ci"][1]
    pooled_rate = rows[1].converters / rows[1].visitors
    stratified_rate = report["variants"][1]["metrics"]["conversion_rate"]["value"]
    # The treatment's rate is read at the experiment's mix of periods (half and half), not at
    # its own mix (10/28 early), so it is higher than its pooled rate.
    assert stratified_rate == pytest.approx(0.0375, abs=0.003) and stratified_rate > pooled_rate


def test_the_sample_ratio_check_expects_each_period_split() -> None:
    rng = random.Random(3)
    rows, strata = simulate(rng, {"control": (0.04, 0.02), "treatment": (0.04, 0.02)})
    report = report_of(rows, strata, HISTORY)
    assert report["srm"]["mismatch"] is False and report["srm"]["p_value"] > 0.01
    # Against the current 10/90 weights alone the same counts would look broken.
    assert srm_p_value([r.visitors for r in rows], [10, 90]).mismatch


def test_report_shows_allocation_history_and_estimator() -> None:
    rows, strata = simulate(random.Random(1), {"control": (0.04, 0.02), "treatment": (0.04, 0.02)})
    report = report_of(rows, strata, HISTORY)
    assert report["allocation"] == "bandit"
    assert report["estimator"] == "stratified by weight period"
    # The "exploring" row kept the weights: one period each for 50/50 and 10/90.
    assert [h["effective_at"] for h in report["weight_history"]] == [
        "2026-11-23T00:00:00Z",
        "2026-11-26T06:00:00Z",
    ]
    assert report["weight_history"][1]["shares"] == {"control": 0.1, "treatment": 0.9}
    assert report["bandit"]["floor"] == 0.1 and report["bandit"]["cadence_minutes"] == 60
    assert report["bandit"]["last_reason"] == "Thompson sampling"


def test_one_weight_period_reads_exactly_like_a_fixed_experiment() -> None:
    rows = [cell("control", 5000, 110), cell("treatment", 5000, 140)]
    experiment = bandit()
    single = bandit_view(experiment, HISTORY[:2], [], None)
    as_bandit = build_report(
        experiment, rows, [], generated_at=NOW, start=None, end=None, segment=None, bandit=single
    )
    fixed = parse_experiment({**experiment.to_document(), "allocation": "fixed"})
    as_fixed = build_report(fixed, rows, [], generated_at=NOW, start=None, end=None, segment=None)
    assert as_bandit["estimator"] == POOLED and as_fixed["estimator"] == "pooled"
    assert as_fixed["allocation"] == "fixed" and "weight_history" not in as_fixed
    assert as_bandit["variants"] == as_fixed["variants"]


def test_a_single_stratum_gives_the_pooled_comparison() -> None:
    control = SampleStats.proportion(4000, 90)
    treatment = SampleStats.proportion(4100, 120)
    one = stratified([[control, treatment]])
    assert one[0].mean == pytest.approx(control.mean, rel=1e-12)
    assert one[0].variance == pytest.approx(control.variance, rel=1e-9)
    a = compare(control, treatment, alpha=0.05, sequential=False)
    b = compare(*one, alpha=0.05, sequential=False)
    assert isinstance(a, Comparison) and isinstance(b, Comparison)
    assert b.lift == pytest.approx(a.lift, rel=1e-9)
    assert b.ci == pytest.approx(a.ci, rel=1e-6)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-6)


def test_stratified_mean_and_variance_follow_the_formula() -> None:
    early = [SampleStats.proportion(100, 10), SampleStats.proportion(100, 20)]
    late = [SampleStats.proportion(20, 1), SampleStats.proportion(180, 9)]
    control, _ = stratified([early, late])
    # w = 200/400 each: M = 0.5·0.1 + 0.5·0.05; Var = 0.25·0.09/100 + 0.25·0.0475/20.
    assert control.mean == pytest.approx(0.075)
    assert control.variance / control.n == pytest.approx(0.25 * 0.09 / 100 + 0.25 * 0.0475 / 20)
    with pytest.raises(ValueError, match="every arm needs 2"):
        stratified([early, [SampleStats.proportion(1, 0), SampleStats.proportion(5, 1)]])


def test_cumulative_prefixes_match_stratifying_each_prefix() -> None:
    rng = random.Random(11)
    strata = [
        [SampleStats.of_values(rng.expovariate(1.0) for _ in range(rng.randint(2, 40)))] * 2
        for _ in range(12)
    ]
    ends = [1, 4, 4, 9, 12]
    for end, got in zip(ends, stratified_prefixes(strata, ends), strict=True):
        want = stratified(strata[:end])
        for g, w in zip(got, want, strict=True):
            assert g.n == w.n
            assert g.mean == pytest.approx(w.mean, rel=1e-12)
            assert g.variance == pytest.approx(w.variance, rel=1e-9)
    with pytest.raises(ValueError, match="beyond"):
        stratified_prefixes(strata, [13])


def test_sparse_strata_merge_into_their_neighbours() -> None:
    assert collapse_sparse([[5, 5], [1, 9], [3, 0], [4, 4], [1, 1]]) == [[0], [1, 2], [3, 4]]
    assert collapse_sparse([[1, 5], [0, 5]]) == []
    # In a report: an hour where control had a single visitor does not break the estimate.
    strata = [
        StratumTotals(-1, cell("control", 400, 12)),
        StratumTotals(-1, cell("treatment", 400, 14)),
        StratumTotals(0, cell("control", 1, 0)),
        StratumTotals(0, cell("treatment", 30, 1)),
    ]
    rows = [cell("control", 401, 12), cell("treatment", 430, 15)]
    report = report_of(rows, strata, HISTORY)
    assert report["estimator"] == STRATIFIED
    assert "relative_lift" in lift(report)


def test_the_daily_series_uses_the_same_strata() -> None:
    rows, strata = simulate(random.Random(5), {"control": (0.04, 0.02), "treatment": (0.04, 0.02)})
    experiment = bandit()
    view = bandit_view(experiment, HISTORY, [SWITCH], strata)
    days = [DayTotals((START if s.stratum < 0 else SWITCH).date(), s.totals) for s in strata]
    out = build_report(
        experiment, rows, days, generated_at=NOW, start=None, end=None, segment=None, bandit=view
    )
    first, last = out["daily"][1], out["daily"][-1]
    assert first["date"] == "2026-11-23" and last["date"] == "2026-11-26"
    assert last["lift"] == pytest.approx(lift(out)["relative_lift"])
    assert last["conversion_rate"] == out["variants"][1]["metrics"]["conversion_rate"]["value"]
    # The first day had one weight period only: its figures are the plain ones of that day.
    early = [s.totals for s in strata if s.stratum < 0]
    assert first["conversion_rate"] == pytest.approx(early[1].converters / early[1].visitors)


def test_strata_are_weight_periods_cut_at_midnight() -> None:
    periods = weight_periods(HISTORY)
    assert [p.effective_at for p in periods] == [START, SWITCH]
    boundaries = stratum_boundaries(periods, date(2026, 11, 26))
    assert boundaries == [
        datetime(2026, 11, 24, tzinfo=UTC),
        datetime(2026, 11, 25, tzinfo=UTC),
        datetime(2026, 11, 26, tzinfo=UTC),
        SWITCH,
    ]
