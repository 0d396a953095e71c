"""Event counts per variant and UTC day from the flusher's daily rollups, for the dashboard's
activity chart (impressions, views, clicks and dismissals on the day they happened, unlike the
report's series, which follows visitors from their first exposure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from service.store.sql.tables import daily_rollups as dr


@dataclass(frozen=True, slots=True)
class DayActivity:
    day: date
    variant: str
    impressions: int
    views: int
    clicks: int
    dismiss_remind_later: int
    dismiss_close: int
    dismiss_already_donated: int
    conversions: int
    revenue: float

    @property
    def dismissals(self) -> int:
        return self.dismiss_remind_later + self.dismiss_close + self.dismiss_already_donated


def daily_activity(
    engine: Engine, experiment_key: str, *, start: date | None, end: date | None
) -> list[DayActivity]:
    query = select(
        dr.c.day,
        dr.c.variant_key,
        dr.c.impressions,
        dr.c.views,
        dr.c.clicks,
        dr.c.dismiss_remind_later,
        dr.c.dismiss_close,
        dr.c.dismiss_already_donated,
        dr.c.conversions,
        dr.c.revenue,
    ).where(dr.c.experiment_key == experiment_key)
    if start is not None:
        query = query.where(dr.c.day >= start)
    if end is not None:
        query = query.where(dr.c.day <= end)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(dr.c.day, dr.c.variant_key)).all()
    return [
        DayActivity(
            day=row.day,
            variant=row.variant_key,
            impressions=int(row.impressions),
            views=int(row.views),
            clicks=int(row.clicks),
            dismiss_remind_later=int(row.dismiss_remind_later),
            dismiss_close=int(row.dismiss_close),
            dismiss_already_donated=int(row.dismiss_already_donated),
            conversions=int(row.conversions),
            revenue=float(row.revenue),
        )
        for row in rows
    ]
