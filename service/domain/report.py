"""The experiment report (DESIGN §5) from per-arm sufficient statistics; pure, no I/O.

Inputs are what one grouped SQL query over exposed visitors yields (`ArmTotals`, one per
segment value and variant) and per-day new exposed visitors (`DayTotals`). Revenue figures in
`*_capped` fields are winsorised at the experiment's revenue cap and drive every per-visitor
metric; the raw totals are shown as totals. Nothing here returns NaN or inf: an undefined ratio
is None and an impossible comparison is {"error": reason}.

This module assembles the report: the SRM check, the verdicts, segments and the daily series.
The per-variant figures and their comparisons are built in report_variants.py, the e-mail
reminder section in report_reminders.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Literal

from service.domain.arm_totals import ArmTotals, DayTotals, ReminderTotals
from service.domain.bandit_report import ArmStats, BanditView
from service.domain.experiment import Analysis, Engine, Experiment
from service.domain.guardrails import guarded
from service.domain.instants import iso_utc
from service.domain.report_model import (
    AnalysisSettings,
    DailyPoint,
    Report,
    SegmentGroup,
    Srm,
)
from service.domain.report_model import report_json_schema as report_json_schema
from service.domain.report_reminders import reminder_section
from service.domain.report_variants import (
    by_variant,
    finite,
    mean,
    sample_stats,
    variant_rows,
)
from service.domain.verdicts import too_few_donors, verdicts
from service.stats.compare import Comparison, compare
from service.stats.intervals import mean_interval
from service.stats.srm import srm_p_value

Segment = Literal["country", "device"]


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
    overall = by_variant(experiment, rows)
    srm = srm_p_value(
        [overall[v.key].visitors for v in experiment.variants],
        (bandit.expected_split if bandit else None) or [v.weight for v in experiment.variants],
    )
    variants, comparisons = variant_rows(experiment, overall, bandit.overall if bandit else None)
    segments = None
    if segment is not None:
        values = sorted({r.segment for r in rows}, key=lambda v: (v is None, v or ""))
        segments = tuple(
            SegmentGroup(
                value,
                variant_rows(
                    experiment,
                    by_variant(experiment, [r for r in rows if r.segment == value]),
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
        srm=Srm(finite(srm.p_value), srm.mismatch, srm.reason if srm.p_value is None else None),
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
            rate = sample_stats(strata, running, key, "conversion_rate")
            revenue = sample_stats(strata, running, key, "revenue_per_visitor")
            result = None
            if key != keys[0] and not too_few_donors(
                running[keys[0]].converters, running[key].converters, min_donors
            ):
                result = compare(
                    sample_stats(strata, running, keys[0], metric),
                    sample_stats(strata, running, key, metric),
                    alpha=experiment.analysis.alpha,
                    sequential=experiment.analysis.sequential,
                )
            compared = result if isinstance(result, Comparison) else None
            out.append(
                DailyPoint(
                    date=day.isoformat(),
                    variant=key,
                    visitors=running[key].visitors,
                    conversion_rate=mean(rate),
                    conversion_rate_ci=mean_interval(rate, alpha),
                    revenue_per_visitor=mean(revenue),
                    revenue_per_visitor_ci=mean_interval(revenue, alpha),
                    lift=compared.lift if compared else None,
                    ci=_engine_interval(compared, experiment.analysis) if compared else None,
                    period="day" if hour is None else "hour",
                    at=iso_utc(datetime.combine(day, time(hour or 0), UTC)),
                )
            )
    return tuple(out)
