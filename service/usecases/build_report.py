"""Build an experiment's report (DESIGN §5): the grouped SQL queries of the report's query
adapter (store/sql/report_queries.py) fed into the pure builder. One function, so the admin
API, the dashboard and the exports show the same numbers."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import TYPE_CHECKING

from service.domain.bandit_report import BanditView, bandit_view, stratum_boundaries, weight_periods
from service.domain.experiment import Allocation, Experiment, Status
from service.domain.report import Segment, build_report
from service.domain.report_model import Report, SinceShipping
from service.domain.report_since_shipping import counted_since, since_shipping
from service.store.sql.bandit_repo import BanditWeightRepo
from service.store.sql.experiments_repo import ExperimentRepo
from service.store.sql.reminder_results import reminder_totals
from service.store.sql.report_queries import (
    arm_totals,
    day_totals,
    stratum_totals,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from service.wiring import Services


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
        svc.engine,
        experiment,
        now=now or svc.clock(),
        start=start,
        end=end,
        segment=segment,
        daily=daily,
        min_donors=svc.settings.min_donors_per_arm,
    )


def load_report(
    engine: Engine,
    experiment: Experiment,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    segment: Segment | None = None,
    daily: bool = True,
    min_donors: int = 0,
) -> Report:
    """The report; `daily=False` skips the per-day series (the experiment list).
    `min_donors`: MIN_DONORS_PER_ARM, below which a comparison gets no verdict."""
    cap = experiment.analysis.revenue_cap
    aggregates = arm_totals(
        engine, experiment.key, start=start, end=end, segment=segment, revenue_cap=cap
    )
    days = (
        day_totals(engine, experiment.key, start=start, end=end, revenue_cap=cap) if daily else []
    )
    bandit = (
        _bandit(engine, experiment, now, start, end, segment)
        if experiment.allocation == Allocation.bandit
        else None
    )
    reminders = reminder_totals(
        engine,
        experiment.key,
        start=start,
        end=end,
        attribution_days=experiment.attribution_days,
        revenue_cap=cap,
    )
    report = build_report(
        experiment,
        aggregates,
        days,
        generated_at=now,
        start=start,
        end=end,
        segment=segment,
        bandit=bandit,
        min_donors=min_donors,
        ran=experiment.status != Status.draft,
        reminders=reminders,
    )
    since = _since_shipping(engine, experiment, now, min_donors)
    return dataclasses.replace(report, since_shipping=since) if since else report


def _since_shipping(
    engine: Engine, experiment: Experiment, now: datetime, min_donors: int
) -> SinceShipping | None:
    """A shipped experiment's holdout against its shipped variant, since the ship."""
    shipped = experiment.shipped
    if shipped is None or shipped.holdout <= 0:
        return None
    shipped_at = ExperimentRepo(engine).shipped_at(experiment.key)
    if shipped_at is None:
        return None
    totals = arm_totals(
        engine,
        experiment.key,
        start=None,
        end=None,
        segment=None,
        revenue_cap=experiment.analysis.revenue_cap,
        since=counted_since(shipped_at),
    )
    return since_shipping(experiment, shipped_at, totals, generated_at=now, min_donors=min_donors)


def _bandit(
    engine: Engine,
    experiment: Experiment,
    now: datetime,
    start: date | None,
    end: date | None,
    segment: Segment | None,
) -> BanditView:
    """The weight history, and per-stratum sums once there is more than one weight period."""
    history = BanditWeightRepo(engine).history(experiment.key)
    periods = weight_periods(history)
    if len(periods) < 2:
        return bandit_view(experiment, history, [], None)
    boundaries = stratum_boundaries(periods, now.date())
    strata = stratum_totals(
        engine,
        experiment.key,
        boundaries,
        start=start,
        end=end,
        segment=segment,
        revenue_cap=experiment.analysis.revenue_cap,
    )
    return bandit_view(experiment, history, boundaries, strata)
