"""The experiment report (DESIGN §5) from per-arm sufficient statistics; pure, no I/O.

Inputs are what one grouped SQL query over exposed visitors yields (`ArmTotals`, one per
segment value and variant) and per-day new exposed visitors (`DayTotals`). Revenue figures in
`*_capped` fields are winsorised at the experiment's revenue cap and drive every per-visitor
metric; the raw totals are shown as totals. Nothing here returns NaN or inf: an undefined ratio
is None and an impossible comparison is {"error": reason}.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Literal

from service.domain.arm_totals import ArmTotals, DayTotals, ReminderTotals
from service.domain.bandit_report import ArmStats, BanditView
from service.domain.experiment import Analysis, Engine, Experiment
from service.domain.guardrails import guarded
from service.domain.instants import iso_utc
from service.domain.payment_model import first_gifts
from service.domain.report_metrics import METRIC_NAMES, metric_stats
from service.domain.report_metrics import metric as report_metric
from service.domain.report_model import (
    AnalysisSettings,
    DailyPoint,
    Dismissals,
    MetricValue,
    ReminderRow,
    Reminders,
    Report,
    SegmentGroup,
    Srm,
    VariantRow,
    VsBayesian,
    VsError,
    VsFrequentist,
)
from service.domain.report_model import report_json_schema as report_json_schema
from service.domain.verdicts import too_few_donors, verdicts
from service.stats.compare import Comparison, Unavailable, compare, compare_arms
from service.stats.cuped import Covariate
from service.stats.intervals import mean_interval
from service.stats.srm import srm_p_value
from service.stats.summaries import SampleStats

Segment = Literal["country", "device"]
# The per-variant figures after the counts and dismissals, in the order files list them:
# VariantRow's fields from conversions up to the compared metrics.
_ROW_FIELDS = [f.name for f in dataclasses.fields(VariantRow)]
FIGURES = tuple(_ROW_FIELDS[_ROW_FIELDS.index("conversions") : _ROW_FIELDS.index("metrics")])


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
    min_donors: int = 0,
    ran: bool = True,
    reminders: Iterable[ReminderTotals] = (),
) -> Report:
    """`bandit`: the weight history of a bandit experiment and, once its weights have changed,
    the stratified statistics that replace the pooled ones (service/domain/bandit_report.py).
    `min_donors` (MIN_DONORS_PER_ARM): until both arms of a comparison have that many
    converting visitors its verdict is not_enough_data and the daily series has no lift for
    it. `ran`: False for a draft, which has never run and so gets no verdicts at all.
    `reminders`: the e-mail reminders' sums per variant (reminder_section)."""
    analysis = experiment.analysis
    rows = list(aggregates)
    overall = _by_variant(experiment, rows)
    srm = srm_p_value(
        [overall[v.key].visitors for v in experiment.variants],
        (bandit.expected_split if bandit else None) or [v.weight for v in experiment.variants],
    )
    variants, comparisons = _variants(experiment, overall, bandit.overall if bandit else None)
    segments = None
    if segment is not None:
        values = sorted({r.segment for r in rows}, key=lambda v: (v is None, v or ""))
        segments = tuple(
            SegmentGroup(
                value,
                _variants(
                    experiment,
                    _by_variant(experiment, [r for r in rows if r.segment == value]),
                    bandit.segments.get(value) if bandit else None,
                )[0],
            )
            for value in values
        )
    return Report(
        experiment=experiment.key,
        generated_at=iso_utc(generated_at),
        currency=analysis.currency,
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        segment=segment,
        analysis=AnalysisSettings(
            analysis.engine, analysis.sequential, analysis.cuped, analysis.alpha
        ),
        revenue_cap=analysis.revenue_cap,
        primary_metric=str(analysis.primary_metric),
        allocation=str(experiment.allocation),
        estimator=bandit.estimator if bandit else "pooled",
        srm=Srm(_finite(srm.p_value), srm.mismatch, srm.reason if srm.p_value is None else None),
        variants=variants,
        verdicts=()
        if not ran
        else tuple(
            guarded(
                experiment,
                verdicts(
                    experiment,
                    comparisons,
                    srm_mismatch=srm.mismatch,
                    donors={key: arm.converters for key, arm in overall.items()},
                    min_donors=min_donors,
                ),
                comparisons,
            )
        ),
        daily=_daily(experiment, daily, bandit.daily if bandit else {}, min_donors),
        bandit=bandit.settings if bandit else None,
        weight_history=bandit.history if bandit else None,
        segments=segments,
        reminders=reminder_section(experiment, overall, reminders),
    )


def _by_variant(experiment: Experiment, rows: Sequence[ArmTotals]) -> dict[str, ArmTotals]:
    totals = {v.key: ArmTotals(v.key) for v in experiment.variants}
    for row in rows:
        if row.variant in totals:  # rows of a variant no longer configured are left out
            totals[row.variant] = totals[row.variant] + row
    return totals


Compared = dict[str, list[Comparison | Unavailable]]  # metric -> result per treatment


def _variants(
    experiment: Experiment, totals: dict[str, ArmTotals], stratified: ArmStats | None = None
) -> tuple[tuple[VariantRow, ...], Compared]:
    control, *treatments = experiment.variants
    analysis = experiment.analysis
    comparisons: Compared = {
        metric: compare_arms(
            _stats(stratified, totals, control.key, metric),
            [_stats(stratified, totals, t.key, metric) for t in treatments],
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
                _mean(_stats(stratified, totals, variant.key, metric)),
                None
                if index == 0
                else _vs(
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
                revenue=_finite(arm.revenue),
                annualised_value=_finite(arm.annualised),
                average_gift=_ratio(
                    first_gifts(arm.revenue, arm.refunded, arm.renewal_revenue), arm.conversions
                ),
                recurring_share=_ratio(arm.recurring_conversions, arm.conversions),
                revenue_per_1000_impressions=_ratio(arm.revenue * 1000, arm.impressions),
                click_through_rate=_ratio(arm.clicks, arm.impressions),
                dismiss_rate=_ratio(dismissals, arm.impressions),
                remind_later_visitors=arm.remind_later_visitors,
                remind_later_to_donated=_ratio(
                    arm.converted_after_remind_later, arm.remind_later_visitors
                ),
                gross_revenue=_finite(arm.revenue + arm.refunded),
                net_revenue=_finite(arm.revenue),
                refunds=arm.refunds,
                refunded_amount=_finite(arm.refunded),
                renewals=arm.renewals,
                renewal_amount=_finite(arm.renewal_revenue),
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


def _vs(
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


# The reminders' compared metrics, per exposed visitor (both higher is better): the sample
# each is compared on, from the arm's visitors and its reminder sums.
REMINDER_METRICS = ("signup_rate", "revenue_after_reminder_per_visitor")
CONTROL_SNOOZES = (
    "control offers no e-mail reminder, so there is nothing to be relative to; the metrics "
    "above (revenue per visitor) compare a plain snooze with a reminder"
)


def reminder_stats(arm: ArmTotals, sums: ReminderTotals, metric: str) -> SampleStats:
    """The sample a reminder metric is compared on: n is the arm's exposed visitors, as for
    every per-visitor metric; a visitor who never signed up or never gave after a reminder
    adds a zero."""
    if metric == "signup_rate":
        return SampleStats.proportion(arm.visitors, sums.signup_visitors)
    return SampleStats(arm.visitors, sums.revenue_capped, sums.revenue_capped_squares)


def reminder_section(
    experiment: Experiment, arms: Mapping[str, ArmTotals], sums: Iterable[ReminderTotals]
) -> Reminders | None:
    """Per variant, the reminders' counts and their two metrics against control in the
    experiment's engine (pooled, like the report's other metrics without a bandit); None
    when no variant offers a reminder and there are no sign-ups, so a report without them
    does not grow a table of zeros."""
    by_variant = {v.key: ReminderTotals(v.key) for v in experiment.variants}
    seen = False
    for row in sums:
        if row.variant in by_variant:
            by_variant[row.variant] = row
            seen = seen or row.signups > 0
    if not seen and all(v.banner.reminder is None for v in experiment.variants):
        return None
    analysis = experiment.analysis
    control, *treatments = experiment.variants

    def stats(key: str, metric: str) -> SampleStats:
        return reminder_stats(arms[key], by_variant[key], metric)

    compared = {
        metric: compare_arms(
            stats(control.key, metric),
            [stats(t.key, metric) for t in treatments],
            alpha=analysis.alpha,
            sequential=analysis.sequential,
        )
        for metric in REMINDER_METRICS
    }
    # A control that only snoozes has nothing to be relative to: say so, and where the
    # snooze-or-reminder verdict is (the per-visitor metrics above count every gift).
    snoozes = control.banner.reminder is None and by_variant[control.key].signups == 0
    values = {
        metric: [
            MetricValue(
                _mean(stats(variant.key, metric)),
                None
                if index == 0
                else VsError(CONTROL_SNOOZES)
                if snoozes
                else _vs(compared[metric][index - 1], analysis, True),
            )
            for index, variant in enumerate(experiment.variants)
        ]
        for metric in REMINDER_METRICS
    }
    rows = []
    for index, variant in enumerate(experiment.variants):
        got = by_variant[variant.key]
        rows.append(
            ReminderRow(
                variant=variant.key,
                signups=got.signups,
                confirmations=got.confirmations,
                sent=got.sent,
                clicks=got.clicks,
                donors_after_reminder=got.donors,
                donations_after_reminder=got.donations,
                revenue_after_reminder=_finite(got.revenue) or 0.0,
                signup_rate=values["signup_rate"][index],
                revenue_after_reminder_per_visitor=values["revenue_after_reminder_per_visitor"][
                    index
                ],
            )
        )
    return Reminders(experiment.attribution_days, tuple(rows))


def _oriented(result: Comparison, higher_is_better: bool) -> tuple[float, float]:
    """Chance to beat control and risk with "beat" meaning better: for a metric where lower
    is good, P(lift < 0) and the expected loss if the lift is in fact positive (gbstats'
    `inverse`: 1 - chance to win, the two risks swapped)."""
    if higher_is_better:
        return result.chance_to_beat_control, result.risk
    return 1.0 - result.chance_to_beat_control, result.risk_control


def _engine_interval(result: Comparison, analysis: Analysis) -> tuple[float, float]:
    """The lift's interval in the experiment's engine: credible or confidence."""
    return result.credible_interval if analysis.engine == Engine.bayesian else result.ci


def _daily(
    experiment: Experiment,
    days: Iterable[DayTotals],
    stratified: Mapping[date, ArmStats],
    min_donors: int = 0,
) -> tuple[DailyPoint, ...]:
    """Cumulative figures per variant at the end of each period (an hour at first, then a
    day; day_totals decides) that saw new exposed visitors; rates and lifts from `stratified`
    where it has the day. A bandit's stratified figures are cut at UTC midnight, so with them
    every period is a day. No lift in a period when either arm had fewer than `min_donors`
    converting visitors so far (verdicts.py says why)."""
    by_period: dict[tuple[date, int | None], dict[str, ArmTotals]] = {}
    for row in days:
        period = (row.day, None if stratified else row.hour)
        arms = by_period.setdefault(period, {})
        got = row.totals
        arms[got.variant] = arms[got.variant] + got if got.variant in arms else got
    keys = [v.key for v in experiment.variants]
    running = {key: ArmTotals(key) for key in keys}
    metric = str(experiment.analysis.primary_metric)
    alpha = experiment.analysis.alpha
    out = []
    # A whole day ends after its hours (day_totals never yields both for one day).
    for day, hour in sorted(by_period, key=lambda p: (p[0], 24 if p[1] is None else p[1])):
        for key in keys:
            new = by_period[day, hour].get(key)
            if new is not None:
                running[key] = running[key] + new
        strata = stratified.get(day)
        for key in keys:
            rate = _stats(strata, running, key, "conversion_rate")
            revenue = _stats(strata, running, key, "revenue_per_visitor")
            result = None
            if key != keys[0] and not too_few_donors(
                running[keys[0]].converters, running[key].converters, min_donors
            ):
                result = compare(
                    _stats(strata, running, keys[0], metric),
                    _stats(strata, running, key, metric),
                    alpha=experiment.analysis.alpha,
                    sequential=experiment.analysis.sequential,
                )
            compared = result if isinstance(result, Comparison) else None
            out.append(
                DailyPoint(
                    date=day.isoformat(),
                    variant=key,
                    visitors=running[key].visitors,
                    conversion_rate=_mean(rate),
                    conversion_rate_ci=mean_interval(rate, alpha),
                    revenue_per_visitor=_mean(revenue),
                    revenue_per_visitor_ci=mean_interval(revenue, alpha),
                    lift=compared.lift if compared else None,
                    ci=_engine_interval(compared, experiment.analysis) if compared else None,
                    period="day" if hour is None else "hour",
                    at=iso_utc(datetime.combine(day, time(hour or 0), UTC)),
                )
            )
    return tuple(out)


def _stats(
    stratified: ArmStats | None, totals: Mapping[str, ArmTotals], key: str, metric: str
) -> SampleStats:
    """The stratified statistics when there are any for the metric, else the pooled ones."""
    if stratified and metric in stratified:
        return stratified[metric][key]
    return metric_stats(totals[key], metric)


def _mean(stats: SampleStats) -> float | None:
    return _ratio(stats.sum, stats.n)


def _ratio(numerator: float, denominator: float) -> float | None:
    return _finite(numerator / denominator) if denominator else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
