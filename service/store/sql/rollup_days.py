"""The flusher's daily rollups of one experiment, every counter: what happened on each UTC day
(events by the day they occurred, visitors by their first exposure). Export files list them;
the results page charts impressions and dismissals from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from service.store.sql.tables import daily_rollups as dr


@dataclass(frozen=True, slots=True)
class RollupDay:
    day: date
    variant: str
    new_visitors: int
    impressions: int
    views: int
    clicks: int
    dismiss_remind_later: int
    dismiss_close: int
    dismiss_already_donated: int
    conversions: int  # conversion events (payments), not converting visitors
    revenue: float
    annualised_value: float

    @property
    def dismissals(self) -> int:
        return self.dismiss_remind_later + self.dismiss_close + self.dismiss_already_donated


def rollup_days(
    engine: Engine, experiment_key: str, *, start: date | None, end: date | None
) -> list[RollupDay]:
    query = select(dr).where(dr.c.experiment_key == experiment_key)
    if start is not None:
        query = query.where(dr.c.day >= start)
    if end is not None:
        query = query.where(dr.c.day <= end)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(dr.c.day, dr.c.variant_key)).all()
    return [
        RollupDay(
            day=row.day,
            variant=row.variant_key,
            new_visitors=int(row.new_visitors),
            impressions=int(row.impressions),
            views=int(row.views),
            clicks=int(row.clicks),
            dismiss_remind_later=int(row.dismiss_remind_later),
            dismiss_close=int(row.dismiss_close),
            dismiss_already_donated=int(row.dismiss_already_donated),
            conversions=int(row.conversions),
            revenue=float(row.revenue),
            annualised_value=float(row.annualised_value),
        )
        for row in rows
    ]
