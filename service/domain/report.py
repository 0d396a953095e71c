"""The experiment report (DESIGN §5) from per-arm sufficient statistics; pure, no I/O.

Inputs are what one grouped SQL query over exposed visitors yields (`ArmTotals`, one per
segment value and variant) and per-day new exposed visitors (`DayTotals`). Revenue figures in
`*_capped` fields are winsorised at the experiment's revenue cap and drive every per-visitor
metric; the raw totals are shown as totals. Nothing here returns NaN or inf: an undefined ratio
is None and an impossible comparison is {"error": reason}.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from service.domain.experiment import Experiment
from service.domain.verdicts import verdicts
from service.stats.compare import Comparison, Unavailable, compare, compare_arms
from service.stats.intervals import mean_interval
from service.stats.srm import srm_p_value
from service.stats.summaries import SampleStats

if TYPE_CHECKING:  # bandit_report builds on this module's types
    from service.domain.bandit_report import ArmStats, BanditView

Segment = Literal["country", "device"]
METRICS = ("conversion_rate", "revenue_per_visitor", "annualised_value_per_visitor")
# The per-variant figures after the counts and dismissals, in the order files list them.
FIGURES = (
    "conversions",
    "payments",
    "revenue",
    "annualised_value",
    "average_gift",
    "recurring_share",
    "revenue_per_1000_impressions",
    "click_through_rate",
    "dismiss_rate",
    "remind_later_visitors",
    "remind_later_to_donated",
)


@dataclass(frozen=True, slots=True)
class ArmTotals:
    """Sums over the exposed visitors of one variant (in one segment value, if segmented)."""

    variant: str
    segment: str | None = None
    visitors: int = 0
    converters: int = 0  # visitors with at least one conversion
    revenue: float = 0.0
    revenue_capped: float = 0.0
    revenue_capped_squares: float = 0.0
    annualised: float = 0.0
    annualised_capped: float = 0.0
    annualised_capped_squares: float = 0.0
    impressions: int = 0
    views: int = 0
    clicks: int = 0
    dismiss_remind_later: int = 0
    dismiss_close: int = 0
    dismiss_already_donated: int = 0
    conversions: int = 0
    recurring_conversions: int = 0
    remind_later_visitors: int = 0
    converted_after_remind_later: int = 0

    def __add__(self, other: ArmTotals) -> ArmTotals:
        # Every sufficient statistic is a plain sum, so segments add up to the overall figures.
        return ArmTotals(
            self.variant,
            None,
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)[2:]),
        )

    def stats(self, metric: str) -> SampleStats:
        if metric == "conversion_rate":
            return SampleStats.proportion(self.visitors, self.converters)
        if metric == "revenue_per_visitor":
            return SampleStats(self.visitors, self.revenue_capped, self.revenue_capped_squares)
        return SampleStats(self.visitors, self.annualised_capped, self.annualised_capped_squares)


@dataclass(frozen=True, slots=True)
class DayTotals:
    """Visitors first exposed on `day` (UTC); `totals` holds visitors, converters and the
    capped revenue sums (the daily series needs no more)."""

    day: date
    totals: ArmTotals


def build_report(
    experiment: Experiment,
    aggregates: Iterable[ArmTotals],
    daily: Iterable[DayTotals],
    *,
    generated_at: datetime,
    start: date | None,
    end: date | None,
    segment: Segment | None,
    bandit: BanditView | None = None,
) -> dict[str, Any]:
    """`bandit`: the weight history of a bandit experiment and, once its weights have changed,
    the stratified statistics that replace the pooled ones (service/domain/bandit_report.py)."""
    analysis = experiment.analysis
    rows = list(aggregates)
    overall = _by_variant(experiment, rows)
    srm = srm_p_value(
        [overall[v.key].visitors for v in experiment.variants],
        (bandit.expected_split if bandit else None) or [v.weight for v in experiment.variants],
    )
    srm_json: dict[str, Any] = {"p_value": _finite(srm.p_value), "mismatch": srm.mismatch}
    if srm.p_value is None:
        srm_json["reason"] = srm.reason
    variants, comparisons = _variants(experiment, overall, bandit.overall if bandit else None)
    report: dict[str, Any] = {
        "experiment": experiment.key,
        "generated_at": generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "currency": analysis.currency,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "segment": segment,
        "analysis": "sequential" if analysis.sequential else "fixed",
        "revenue_cap": analysis.revenue_cap,
        "primary_metric": str(analysis.primary_metric),
        "allocation": str(experiment.allocation),
        "estimator": bandit.estimator if bandit else "pooled",
        "srm": srm_json,
        "variants": variants,
        "verdicts": verdicts(experiment, comparisons, srm_mismatch=srm.mismatch),
        "daily": _daily(experiment, daily, bandit.daily if bandit else {}),
    }
    if bandit is not None:
        report["bandit"] = bandit.settings
        report["weight_history"] = bandit.history
    if segment is not None:
        values = sorted({r.segment for r in rows}, key=lambda v: (v is None, v or ""))
        report["segments"] = [
            {
                "value": value,
                "variants": _variants(
                    experiment,
                    _by_variant(experiment, [r for r in rows if r.segment == value]),
                    bandit.segments.get(value) if bandit else None,
                )[0],
            }
            for value in values
        ]
    return report


def _by_variant(experiment: Experiment, rows: Sequence[ArmTotals]) -> dict[str, ArmTotals]:
    totals = {v.key: ArmTotals(v.key) for v in experiment.variants}
    for row in rows:
        if row.variant in totals:  # rows of a variant no longer configured are left out
            totals[row.variant] = totals[row.variant] + row
    return totals


Compared = dict[str, list[Comparison | Unavailable]]  # metric -> result per treatment


def _variants(
    experiment: Experiment, totals: dict[str, ArmTotals], stratified: ArmStats | None = None
) -> tuple[list[dict[str, Any]], Compared]:
    control, *treatments = experiment.variants
    analysis = experiment.analysis
    comparisons: Compared = {
        metric: compare_arms(
            _stats(stratified, totals, control.key, metric),
            [_stats(stratified, totals, t.key, metric) for t in treatments],
            alpha=analysis.alpha,
            sequential=analysis.sequential,
        )
        for metric in METRICS
    }
    out = []
    for index, variant in enumerate(experiment.variants):
        arm = totals[variant.key]
        metrics = {
            metric: {
                "value": _mean(_stats(stratified, totals, variant.key, metric)),
                "vs_control": None if index == 0 else _vs(comparisons[metric][index - 1]),
            }
            for metric in METRICS
        }
        dismissals = arm.dismiss_remind_later + arm.dismiss_close + arm.dismiss_already_donated
        out.append(
            {
                "key": variant.key,
                "weight": variant.weight,
                "visitors": arm.visitors,
                "impressions": arm.impressions,
                "views": arm.views,
                "clicks": arm.clicks,
                "dismissals": {
                    "remind_later": arm.dismiss_remind_later,
                    "close": arm.dismiss_close,
                    "already_donated": arm.dismiss_already_donated,
                },
                "conversions": arm.converters,
                "payments": arm.conversions,
                "revenue": _finite(arm.revenue),
                "annualised_value": _finite(arm.annualised),
                "average_gift": _ratio(arm.revenue, arm.conversions),
                "recurring_share": _ratio(arm.recurring_conversions, arm.conversions),
                "revenue_per_1000_impressions": _ratio(arm.revenue * 1000, arm.impressions),
                "click_through_rate": _ratio(arm.clicks, arm.impressions),
                "dismiss_rate": _ratio(dismissals, arm.impressions),
                "remind_later_visitors": arm.remind_later_visitors,
                "remind_later_to_donated": _ratio(
                    arm.converted_after_remind_later, arm.remind_later_visitors
                ),
                "metrics": metrics,
            }
        )
    return out, comparisons


def _vs(result: Comparison | Unavailable) -> dict[str, Any]:
    if isinstance(result, Unavailable):
        return {"error": result.reason}
    return {
        "relative_lift": result.lift,
        "ci": list(result.ci),
        "p_value": result.p_value,
        "p_value_adjusted": result.p_value_adjusted,
        "chance_to_beat_control": result.chance_to_beat_control,
        "risk": result.risk,
        "absolute_difference": result.absolute_difference,
        "absolute_ci": list(result.absolute_ci),
    }


def _daily(
    experiment: Experiment, days: Iterable[DayTotals], stratified: Mapping[date, ArmStats]
) -> list[dict[str, Any]]:
    """Cumulative figures per variant at the end of each day that saw new exposed visitors;
    rates and lifts from `stratified` where it has the day."""
    by_day: dict[date, dict[str, ArmTotals]] = {}
    for row in days:
        by_day.setdefault(row.day, {})[row.totals.variant] = row.totals
    keys = [v.key for v in experiment.variants]
    running = {key: ArmTotals(key) for key in keys}
    metric = str(experiment.analysis.primary_metric)
    alpha = experiment.analysis.alpha
    out = []
    for day in sorted(by_day):
        for key in keys:
            new = by_day[day].get(key)
            if new is not None:
                running[key] = running[key] + new
        strata = stratified.get(day)
        for key in keys:
            rate = _stats(strata, running, key, "conversion_rate")
            revenue = _stats(strata, running, key, "revenue_per_visitor")
            point: dict[str, Any] = {
                "date": day.isoformat(),
                "variant": key,
                "visitors": running[key].visitors,
                "conversion_rate": _mean(rate),
                "conversion_rate_ci": _band(rate, alpha),
                "revenue_per_visitor": _mean(revenue),
                "revenue_per_visitor_ci": _band(revenue, alpha),
                "lift": None,
                "ci": None,
            }
            if key != keys[0]:
                result = compare(
                    _stats(strata, running, keys[0], metric),
                    _stats(strata, running, key, metric),
                    alpha=experiment.analysis.alpha,
                    sequential=experiment.analysis.sequential,
                )
                if isinstance(result, Comparison):
                    point["lift"], point["ci"] = result.lift, list(result.ci)
            out.append(point)
    return out


def _band(stats: SampleStats, alpha: float) -> list[float] | None:
    interval = mean_interval(stats, alpha)
    return list(interval) if interval else None


def _stats(
    stratified: ArmStats | None, totals: Mapping[str, ArmTotals], key: str, metric: str
) -> SampleStats:
    """The stratified statistics when there are any, else the pooled ones."""
    return stratified[metric][key] if stratified else totals[key].stats(metric)


def _mean(stats: SampleStats) -> float | None:
    return _ratio(stats.sum, stats.n)


def _ratio(numerator: float, denominator: float) -> float | None:
    return _finite(numerator / denominator) if denominator else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
