"""A placement's recent results, for a dry run's baseline: the primary metric's sufficient
statistics over every visitor first exposed on the placement since a day, whatever the
experiment (they are per visitor, as in the report, and capped by the candidate's revenue cap).
A shipped experiment's holdout readers (variant ~holdout) were shown no banner, so they are no
baseline of one and are left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from service.domain.bucketing import HOLDOUT
from service.domain.dry_run_power import History
from service.domain.experiment import PrimaryMetric
from service.store.sql.event_tables import visitor_outcomes
from service.store.sql.experiment_tables import experiments
from service.store.sql.report_sums import capped


def placement_history(
    engine: Engine,
    placement: str,
    metric: PrimaryMetric,
    since: datetime,
    revenue_cap: float | None,
) -> History:
    vo, ex = visitor_outcomes, experiments
    value: ColumnElement[Any]
    if metric == PrimaryMetric.conversion_rate:
        value = case((vo.c.conversions > 0, 1.0), else_=0.0)
    elif metric == PrimaryMetric.revenue_per_visitor:
        value = capped(vo.c.revenue, revenue_cap)
    else:
        value = capped(vo.c.annualised_value, revenue_cap)
    query = (
        select(func.count(), func.sum(value), func.sum(value * value))
        .select_from(vo.join(ex, ex.c.key == vo.c.experiment_key))
        .where(
            ex.c.placement == placement,
            vo.c.first_exposure_at.is_not(None),
            vo.c.first_exposure_at >= since,
            vo.c.variant_key != HOLDOUT,
        )
    )
    with engine.connect() as conn:
        visitors, total, squares = conn.execute(query).one()
    return History(int(visitors), float(total or 0.0), float(squares or 0.0))
