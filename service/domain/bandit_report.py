"""What the report of a bandit experiment adds: its weight history and, once the weights have
changed, lifts stratified by weight period so that they stay unbiased; pure, no I/O.

Why: a bandit moves traffic toward the arm that looks best while the base rate may drift
(a weekend, a big news day). Pooled per-arm figures then weigh each arm by its own traffic over
time, and an arm that happened to get more traffic in a good period looks better for it. So
time is cut into strata — the weight periods (runs of identical weights in the history), each
further cut at UTC midnight so the daily series can use the same strata — and each arm's mean
is the strata means weighted by each stratum's share of all exposed visitors
(service/stats/stratified.py). A visitor belongs to the stratum holding their first exposure,
which follows their assignment within seconds.

The sample-ratio check expects, per arm, Σ_s N_s·share_{arm, period(s)} visitors: the split
each period's weights called for. (Summing periods makes the χ² slightly conservative.)
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from service.domain.arm_totals import ArmTotals, StratumTotals
from service.domain.bandit import WeightChange, same_split, shares
from service.domain.experiment import Experiment
from service.domain.instants import iso_utc
from service.domain.report_metrics import METRICS, Metric
from service.domain.report_model import BanditSettings, WeightPeriod
from service.stats.stratified import collapse_sparse, stratified_prefixes
from service.stats.summaries import SampleStats

STRATIFIED = "stratified by weight period"
POOLED = "pooled"
ArmStats = dict[str, dict[str, SampleStats]]  # metric -> variant -> statistics
# The daily series and the primary metric are per visitor: strata merged by visitors serve them.
_PER_VISITOR = [metric for metric in METRICS if metric.per_visitor]


@dataclass(frozen=True, slots=True)
class BanditView:
    """What build_report needs: `overall`, `segments` and `daily` replace the pooled
    statistics when set; `expected_split` replaces the weights in the sample-ratio check."""

    history: tuple[WeightPeriod, ...]
    estimator: str
    settings: BanditSettings
    expected_split: list[float] | None = None
    overall: ArmStats | None = None
    segments: dict[str | None, ArmStats] = field(default_factory=dict)
    daily: dict[date, ArmStats] = field(default_factory=dict)


def weight_periods(history: Sequence[WeightChange]) -> list[WeightChange]:
    """The history without rows that kept the split unchanged: one row per weight period."""
    periods: list[WeightChange] = []
    for change in sorted(history, key=lambda c: c.effective_at):
        if not periods or not same_split(periods[-1].weights, change.weights):
            periods.append(change)
    return periods


def stratum_boundaries(periods: Sequence[WeightChange], today: date) -> list[datetime]:
    """Where strata begin: every weight change after the first period, and every UTC midnight
    from the day after the first period began to `today`."""
    if not periods:
        return []
    first = periods[0].effective_at.astimezone(UTC)
    midnights = []
    day = first.date() + timedelta(days=1)
    while day <= today:
        midnights.append(datetime.combine(day, time(), UTC))
        day += timedelta(days=1)
    return sorted({*(p.effective_at.astimezone(UTC) for p in periods[1:]), *midnights})


def bandit_view(
    experiment: Experiment,
    history: Sequence[WeightChange],
    boundaries: Sequence[datetime],
    strata: Sequence[StratumTotals] | None,
) -> BanditView:
    """The bandit part of the report; `strata` is None when there is a single weight period
    (nothing to stratify: the pooled figures are already unbiased)."""
    periods = weight_periods(history)
    settings = _settings(experiment, history)
    if strata is None or len(periods) < 2:
        return BanditView(_history_json(periods), POOLED, settings)
    keys = [v.key for v in experiment.variants]
    starts = [p.effective_at for p in periods]
    cells = _cells(strata, keys, segment=...)
    expected = [0.0] * len(keys)
    for index, arms in cells.items():
        period = periods[max(0, bisect.bisect_right(starts, _start(index, boundaries)) - 1)]
        split = shares(period.weights)
        size = sum(arm.visitors for arm in arms)
        for i, key in enumerate(keys):
            expected[i] += size * split.get(key, 0.0)
    overall = _stratified(cells)
    segments = {
        value: stats
        for value in sorted({s.totals.segment for s in strata}, key=lambda v: (v is None, v or ""))
        if (stats := _stratified(_cells(strata, keys, segment=value))) is not None
    }
    return BanditView(
        history=_history_json(periods),
        estimator=STRATIFIED if overall is not None else POOLED,
        settings=settings,
        expected_split=expected if sum(expected) > 0 else None,
        overall=overall,
        segments=segments,
        daily=_daily(cells, boundaries, periods[0].effective_at),
    )


def _start(index: int, boundaries: Sequence[datetime]) -> datetime:
    return boundaries[index] if index >= 0 else datetime.min.replace(tzinfo=UTC)


def _cells(
    strata: Sequence[StratumTotals], keys: Sequence[str], *, segment: object
) -> dict[int, list[ArmTotals]]:
    """Per stratum (in time order), one ArmTotals per variant; `segment=...` sums them all."""
    cells: dict[int, dict[str, ArmTotals]] = {}
    for row in strata:
        if segment is not ... and row.totals.segment != segment:
            continue
        if row.totals.variant not in keys:  # a variant no longer configured
            continue
        arms = cells.setdefault(row.stratum, {key: ArmTotals(key) for key in keys})
        arms[row.totals.variant] = arms[row.totals.variant] + row.totals
    return {index: [cells[index][key] for key in keys] for index in sorted(cells)}


def _stratified(cells: Mapping[int, Sequence[ArmTotals]]) -> ArmStats | None:
    """Stratified statistics per metric and variant, or None when even all strata together
    leave an arm with too few visitors (the pooled figures then say why). A metric on another
    unit than visitors (donors) merges sparse strata by its own n; where even that leaves an
    arm short, it is absent and the report falls back to its pooled figures."""
    ordered = list(cells.values())
    if not ordered:
        return None
    groups = collapse_sparse([[arm.visitors for arm in arms] for arms in ordered])
    if not groups:
        return None
    merged = [_merge([ordered[i] for i in group]) for group in groups]
    out = _per_metric(merged, [len(merged)], _PER_VISITOR)[0]
    for metric in (m for m in METRICS if not m.per_visitor):
        own = collapse_sparse([[metric.stats(arm).n for arm in arms] for arms in ordered])
        if own:
            own_merged = [_merge([ordered[i] for i in group]) for group in own]
            out.update(_per_metric(own_merged, [len(own_merged)], [metric])[0])
    return out


def _merge(strata: Sequence[Sequence[ArmTotals]]) -> list[ArmTotals]:
    out = list(strata[0])
    for arms in strata[1:]:
        out = [a + b for a, b in zip(out, arms, strict=True)]
    return out


def _per_metric(
    groups: Sequence[Sequence[ArmTotals]], ends: Sequence[int], metrics: Sequence[Metric]
) -> list[ArmStats]:
    """Stratified statistics over groups[:end] for each of the ascending `ends`."""
    keys = [arm.variant for arm in groups[0]]
    out: list[ArmStats] = [{} for _ in ends]
    for metric in metrics:
        cells = [[metric.stats(arm) for arm in group] for group in groups]
        for stats, arms in zip(out, stratified_prefixes(cells, ends), strict=True):
            stats[metric.name] = dict(zip(keys, arms, strict=True))
    return out


def _daily(
    cells: Mapping[int, Sequence[ArmTotals]], boundaries: Sequence[datetime], first: datetime
) -> dict[date, ArmStats]:
    """Cumulative stratified statistics at the end of each day with exposed visitors. Sparse
    strata are merged once, over the whole run; a merged group counts from its last day on."""
    indexes = list(cells)
    days = [_start(i, boundaries).date() if i >= 0 else first.date() for i in indexes]
    groups = collapse_sparse([[arm.visitors for arm in cells[i]] for i in indexes])
    if not groups:
        return {}
    last_days = [days[group[-1]] for group in groups]  # ascending: groups are in time order
    ends_of_day = {
        day: end for day in sorted(set(days)) if (end := bisect.bisect_right(last_days, day)) > 0
    }
    merged = [_merge([cells[indexes[i]] for i in group]) for group in groups]
    return dict(
        zip(ends_of_day, _per_metric(merged, list(ends_of_day.values()), _PER_VISITOR), strict=True)
    )


def _history_json(periods: Sequence[WeightChange]) -> tuple[WeightPeriod, ...]:
    return tuple(
        WeightPeriod(
            iso_utc(p.effective_at), dict(p.weights), shares(p.weights), p.reason, p.details
        )
        for p in periods
    )


def _settings(experiment: Experiment, history: Sequence[WeightChange]) -> BanditSettings:
    bandit = experiment.bandit
    last = max(history, key=lambda c: c.effective_at) if history else None
    return BanditSettings(
        method="Thompson sampling on the primary metric",
        floor=bandit.floor,
        min_visitors=bandit.min_visitors,
        min_conversions=bandit.min_conversions,
        cadence_minutes=bandit.cadence_minutes,
        last_evaluated_at=iso_utc(last.effective_at) if last else None,
        last_reason=last.reason if last else None,
    )
