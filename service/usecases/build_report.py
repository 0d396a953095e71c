"""Build an experiment's report (DESIGN §5): read the sufficient statistics through a report
source and hand them to the pure builder. One function, so the admin API, the dashboard and the
exports show the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from service.domain.arm_totals import ArmTotals, DayTotals, StratumTotals
from service.domain.bandit import WeightChange
from service.domain.bandit_report import BanditView, bandit_view, stratum_boundaries, weight_periods
from service.domain.experiment import Allocation, Experiment
from service.domain.report import Segment, build_report
from service.domain.report_model import Report
from service.store.sql.report_source import SqlReportSource

if TYPE_CHECKING:
    from service.wiring import Services


class ReportSource(Protocol):
    """What the report reads (store/sql/report_source.py answers it from SQL)."""

    def arm_totals(
        self,
        experiment_key: str,
        *,
        start: date | None,
        end: date | None,
        segment: Segment | None,
        revenue_cap: float | None,
    ) -> list[ArmTotals]: ...

    def day_totals(
        self,
        experiment_key: str,
        *,
        start: date | None,
        end: date | None,
        revenue_cap: float | None,
    ) -> list[DayTotals]: ...

    def stratum_totals(
        self,
        experiment_key: str,
        boundaries: Sequence[datetime],
        *,
        start: date | None,
        end: date | None,
        segment: Segment | None,
        revenue_cap: float | None,
    ) -> list[StratumTotals]: ...

    def weight_history(self, experiment_key: str) -> list[WeightChange]: ...


def report_for(
    svc: Services,
    experiment: Experiment,
    *,
    start: date | None = None,
    end: date | None = None,
    segment: Segment | None = None,
    daily: bool = True,
    now: datetime | None = None,
) -> Report:
    """The report as of `now` (the service's clock by default), from its database."""
    return load_report(
        SqlReportSource(svc.engine),
        experiment,
        now=now or svc.clock(),
        start=start,
        end=end,
        segment=segment,
        daily=daily,
    )


def load_report(
    source: ReportSource,
    experiment: Experiment,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    segment: Segment | None = None,
    daily: bool = True,
) -> Report:
    """The report; `daily=False` skips the per-day series (the experiment list)."""
    cap = experiment.analysis.revenue_cap
    key = experiment.key
    aggregates = source.arm_totals(key, start=start, end=end, segment=segment, revenue_cap=cap)
    days = source.day_totals(key, start=start, end=end, revenue_cap=cap) if daily else []
    bandit = (
        _bandit(source, experiment, now, start, end, segment)
        if experiment.allocation == Allocation.bandit
        else None
    )
    return build_report(
        experiment,
        aggregates,
        days,
        generated_at=now,
        start=start,
        end=end,
        segment=segment,
        bandit=bandit,
    )


def _bandit(
    source: ReportSource,
    experiment: Experiment,
    now: datetime,
    start: date | None,
    end: date | None,
    segment: Segment | None,
) -> BanditView:
    """The weight history, and per-stratum sums once there is more than one weight period."""
    history = source.weight_history(experiment.key)
    periods = weight_periods(history)
    if len(periods) < 2:
        return bandit_view(experiment, history, [], None)
    boundaries = stratum_boundaries(periods, now.date())
    strata = source.stratum_totals(
        experiment.key,
        boundaries,
        start=start,
        end=end,
        segment=segment,
        revenue_cap=experiment.analysis.revenue_cap,
    )
    return bandit_view(experiment, history, boundaries, strata)
