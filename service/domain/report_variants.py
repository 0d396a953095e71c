"""The report's per-variant figures and their comparisons against control, from per-arm sums;
pure, no I/O. report.py assembles the report from these; report_reminders.py compares the
reminders' metrics with the same helpers.

Revenue figures in `*_capped` fields are winsorised at the experiment's revenue cap and drive
every per-visitor metric; the raw totals are shown as totals. Nothing here returns NaN or inf:
an undefined ratio is None and an impossible comparison is {"error": reason}.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from service.domain.arm_totals import ArmTotals
from service.domain.bandit_report import ArmStats
from service.domain.experiment import Analysis, Engine, Experiment
from service.domain.payment_model import first_gifts
from service.domain.report_metrics import METRIC_NAMES, metric_stats
from service.domain.report_metrics import metric as report_metric
from service.domain.report_model import (
    Dismissals,
    MetricValue,
    VariantRow,
    VsBayesian,
    VsError,
    VsFrequentist,
)
from service.stats.compare import Comparison, Unavailable, compare_arms
from service.stats.cuped import Covariate
from service.stats.summaries import SampleStats

# The per-variant figures after the counts and dismissals, in the order files list them:
# VariantRow's fields from conversions up to the compared metrics.
_ROW_FIELDS = [f.name for f in dataclasses.fields(VariantRow)]


FIGURES = tuple(_ROW_FIELDS[_ROW_FIELDS.index("conversions") : _ROW_FIELDS.index("metrics")])


def by_variant(experiment: Experiment, rows: Sequence[ArmTotals]) -> dict[str, ArmTotals]:
    totals = {v.key: ArmTotals(v.key) for v in experiment.variants}
    for row in rows:
        if row.variant in totals:  # rows of a variant no longer configured are left out
            totals[row.variant] = totals[row.variant] + row
    return totals


Compared = dict[str, list[Comparison | Unavailable]]  # metric -> result per treatment


def variant_rows(
    experiment: Experiment, totals: dict[str, ArmTotals], stratified: ArmStats | None = None
) -> tuple[tuple[VariantRow, ...], Compared]:
    control, *treatments = experiment.variants
    analysis = experiment.analysis
    comparisons: Compared = {
        metric: compare_arms(
            sample_stats(stratified, totals, control.key, metric),
            [sample_stats(stratified, totals, t.key, metric) for t in treatments],
            alpha=analysis.alpha,
            sequential=analysis.sequential,
            covariates=_covariates(experiment, stratified, totals, metric),
        )
        for metric in METRIC_NAMES
    }
    out = []
    for index, variant in enumerate(experiment.variants):
        arm = totals[variant.key]
        metrics = {
            metric: MetricValue(
                mean(sample_stats(stratified, totals, variant.key, metric)),
                None
                if index == 0
                else vs_control(
                    comparisons[metric][index - 1],
                    analysis,
                    report_metric(metric).higher_is_better,
                ),
            )
            for metric in METRIC_NAMES
        }
        dismissals = arm.dismiss_remind_later + arm.dismiss_close + arm.dismiss_already_donated
        out.append(
            VariantRow(
                key=variant.key,
                weight=variant.weight,
                visitors=arm.visitors,
                impressions=arm.impressions,
                views=arm.views,
                clicks=arm.clicks,
                dismissals=Dismissals(
                    arm.dismiss_remind_later, arm.dismiss_close, arm.dismiss_already_donated
                ),
                conversions=arm.converters,
                payments=arm.conversions,
                revenue=finite(arm.revenue),
                annualised_value=finite(arm.annualised),
                average_gift=ratio(
                    first_gifts(arm.revenue, arm.refunded, arm.renewal_revenue), arm.conversions
                ),
                recurring_share=ratio(arm.recurring_conversions, arm.conversions),
                revenue_per_1000_impressions=ratio(arm.revenue * 1000, arm.impressions),
                click_through_rate=ratio(arm.clicks, arm.impressions),
                dismiss_rate=ratio(dismissals, arm.impressions),
                remind_later_visitors=arm.remind_later_visitors,
                remind_later_to_donated=ratio(
                    arm.converted_after_remind_later, arm.remind_later_visitors
                ),
                gross_revenue=finite(arm.revenue + arm.refunded),
                net_revenue=finite(arm.revenue),
                refunds=arm.refunds,
                refunded_amount=finite(arm.refunded),
                renewals=arm.renewals,
                renewal_amount=finite(arm.renewal_revenue),
                active_recurring_donors=arm.active_recurring_donors,
                churned_donors=arm.churned_donors,
                metrics=metrics,
            )
        )
    return tuple(out), comparisons


def _covariates(
    experiment: Experiment, stratified: ArmStats | None, totals: Mapping[str, ArmTotals], name: str
) -> list[Covariate] | None:
    """CUPED's covariate sums per variant (control first) when the experiment asks for them
    and the metric has them; not over a bandit's stratified figures, which hold no
    covariate."""
    covariate = report_metric(name).covariate
    if not experiment.analysis.cuped or covariate is None or (stratified and name in stratified):
        return None
    return [covariate(totals[v.key]) for v in experiment.variants]


def vs_control(
    result: Comparison | Unavailable, analysis: Analysis, higher_is_better: bool
) -> VsFrequentist | VsBayesian | VsError:
    """The comparison in the experiment's engine only: people shown a p-value beside a chance
    to beat control read them as two verdicts that disagree."""
    if isinstance(result, Unavailable):
        return VsError(result.reason)
    if analysis.engine == Engine.bayesian:
        chance, risk = _oriented(result, higher_is_better)
        return VsBayesian(
            relative_lift=result.lift,
            ci=result.credible_interval,
            chance_to_beat_control=chance,
            risk=risk,
            variance_reduction=result.variance_reduction,
        )
    return VsFrequentist(
        relative_lift=result.lift,
        ci=result.ci,
        p_value=result.p_value,
        p_value_adjusted=result.p_value_adjusted,
        absolute_difference=result.absolute_difference,
        absolute_ci=result.absolute_ci,
        variance_reduction=result.variance_reduction,
    )


def _oriented(result: Comparison, higher_is_better: bool) -> tuple[float, float]:
    """Chance to beat control and risk with "beat" meaning better: for a metric where lower
    is good, P(lift < 0) and the expected loss if the lift is in fact positive (gbstats'
    `inverse`: 1 - chance to win, the two risks swapped)."""
    if higher_is_better:
        return result.chance_to_beat_control, result.risk
    return 1.0 - result.chance_to_beat_control, result.risk_control


def sample_stats(
    stratified: ArmStats | None, totals: Mapping[str, ArmTotals], key: str, metric: str
) -> SampleStats:
    """The stratified statistics when there are any for the metric, else the pooled ones."""
    if stratified and metric in stratified:
        return stratified[metric][key]
    return metric_stats(totals[key], metric)


def mean(stats: SampleStats) -> float | None:
    return ratio(stats.sum, stats.n)


def ratio(numerator: float, denominator: float) -> float | None:
    return finite(numerator / denominator) if denominator else None


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
