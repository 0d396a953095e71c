"""The experiment report from SQL: the grouped queries fed into the pure report builder. One
function, so the admin API, the dashboard and the exports show the same numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from service.domain.experiment import Experiment
from service.domain.report import Segment, build_report
from service.store.sql.report_queries import arm_totals, day_totals


def load_report(
    engine: Engine,
    experiment: Experiment,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    segment: Segment | None = None,
    daily: bool = True,
) -> dict[str, Any]:
    """The report (DESIGN §5); `daily=False` skips the per-day series (the experiment list)."""
    cap = experiment.analysis.revenue_cap
    aggregates = arm_totals(
        engine, experiment.key, start=start, end=end, segment=segment, revenue_cap=cap
    )
    days = (
        day_totals(engine, experiment.key, start=start, end=end, revenue_cap=cap) if daily else []
    )
    return build_report(
        experiment, aggregates, days, generated_at=now, start=start, end=end, segment=segment
    )
