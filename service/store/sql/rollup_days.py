"""The flusher's daily rollups of one experiment, every counter: what happened on each UTC day
(events by the day they occurred, visitors by their first exposure). Export files list them;
the results page charts impressions and dismissals from them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import Engine, select

from service.store.sql.event_tables import daily_rollups as dr


@dataclass(frozen=True, slots=True)
class RollupDay:
    day: date
    variant: str
    # Then the rollup's counters, named as its columns.
    new_visitors: int
    impressions: int
    views: int
    clicks: int
    dismiss_remind_later: int
    dismiss_close: int
    dismiss_already_donated: int
    conversions: int  # conversion events (payments), not converting visitors
    revenue: float  # net of refunds, renewals included
    annualised_value: float
    # For the average first gift (payment_model.first_gifts); defaulted so a day with no
    # rollup can be made from the counters above alone.
    renewal_revenue: float = 0.0
    refunded: float = 0.0

    @property
    def dismissals(self) -> int:
        return self.dismiss_remind_later + self.dismiss_close + self.dismiss_already_donated


def rollup_days(
    engine: Engine, experiment_key: str, *, start: date | None, end: date | None
) -> list[RollupDay]:
    counters = [dr.c[f.name] for f in fields(RollupDay)[2:]]
    query = select(dr.c.day, dr.c.variant_key, *counters)
    query = query.where(dr.c.experiment_key == experiment_key)
    if start is not None:
        query = query.where(dr.c.day >= start)
    if end is not None:
        query = query.where(dr.c.day <= end)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(dr.c.day, dr.c.variant_key)).all()
    return [RollupDay(*row) for row in rows]
