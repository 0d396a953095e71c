"""The report's SQL: sufficient statistics over exposed visitors, one grouped query each,
per variant and segment (`arm_totals`), per day or hour (`day_totals`) and per allocation
period (`stratum_totals`). Each reads the kept sums (outcome_sums.py) when they are complete,
else scans visitor_outcomes; what is counted and summed is defined in report_sums.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    Select,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from service.domain.arm_totals import (
    SUM_FIELDS,
    ArmTotals,
    DayTotals,
    StratumTotals,
    hourly_until,
)
from service.domain.report import Segment
from service.store.sql.event_tables import outcome_sums as kept
from service.store.sql.event_tables import outcome_sums_state as state
from service.store.sql.event_tables import visitor_outcomes as vo
from service.store.sql.report_sums import (
    capped,
    capped_sums,
    epoch_seconds,
    exposed_visitors,
    outcome_sums,
    reading,
    totals_of,
)

_EPOCH = date(1970, 1, 1)


def arm_totals(
    engine: Engine,
    experiment_key: str,
    *,
    start: date | None,
    end: date | None,
    segment: Segment | None,
    revenue_cap: float | None,
    since: datetime | None = None,
) -> list[ArmTotals]:
    """One row per (segment value, variant) with exposed visitors; segment None: per variant.
    `since`: only visitors first exposed from that instant, a whole UTC hour (the kept sums'
    bucket), which a shipped experiment's "since shipping" part reads."""
    segment_col: ColumnElement[Any] = (
        vo.c[segment] if segment is not None else literal(None).label("segment")
    )
    exposed = exposed_visitors(experiment_key, start, end)
    if since is not None:
        exposed.append(vo.c.first_exposure_at >= since)
    query = (
        select(vo.c.variant_key, segment_col.label("segment"), *outcome_sums(revenue_cap))
        .where(*exposed)
        .group_by(vo.c.variant_key, *([vo.c[segment]] if segment is not None else []))
    )
    with reading(engine) as conn:
        if _kept(conn, experiment_key, revenue_cap):
            query = _summed(experiment_key, start, end, segment)
            if since is not None:
                query = query.where(kept.c.hour >= int(since.timestamp()) // 3600)
        rows = conn.execute(query).mappings().all()
    # The kept sums hold '' for a visitor without country or device; the scan, NULL.
    return [totals_of(row, row["segment"] or None) for row in rows]


def day_totals(
    engine: Engine,
    experiment_key: str,
    *,
    start: date | None,
    end: date | None,
    revenue_cap: float | None,
) -> list[DayTotals]:
    """New exposed visitors per variant per UTC hour of first exposure until `hourly_until`
    the experiment's first exposure (whatever the date range), per UTC day after that; with
    capped sums. A subquery names the day and hour, so GROUP BY repeats no expression."""
    with reading(engine) as conn:
        if _kept(conn, experiment_key, revenue_cap):
            return _summed_series(conn, experiment_key, start, end)
        first = conn.execute(
            select(func.min(vo.c.first_exposure_at)).where(
                *exposed_visitors(experiment_key, None, None)
            )
        ).scalar_one()
        if first is None:
            return []
        switch = hourly_until(_as_utc(first))
        if engine.dialect.name == "sqlite":  # stored as naive UTC text
            day: ColumnElement[Any] = func.date(vo.c.first_exposure_at)
            hour: ColumnElement[Any] = cast(func.strftime("%H", vo.c.first_exposure_at), Integer)
        else:
            utc = func.timezone(literal_column("'UTC'"), vo.c.first_exposure_at)
            day, hour = cast(utc, Date), cast(extract("hour", utc), Integer)
        exposed = (
            select(
                vo.c.variant_key,
                day.label("day"),
                case((vo.c.first_exposure_at < switch, hour), else_=None).label("hour"),
                case((vo.c.conversions > 0, 1), else_=0).label("converted"),
                capped(vo.c.revenue, revenue_cap).label("revenue"),
                capped(vo.c.annualised_value, revenue_cap).label("annualised"),
            )
            .where(*exposed_visitors(experiment_key, start, end))
            .subquery()
        )
        keys = [exposed.c.variant_key, exposed.c.day, exposed.c.hour]
        sums = capped_sums(exposed.c.converted, exposed.c.revenue, exposed.c.annualised)
        rows = conn.execute(select(*keys, *sums).group_by(*keys)).mappings().all()
    return [
        DayTotals(
            _as_date(row["day"]),
            totals_of(row, None),
            None if row["hour"] is None else int(row["hour"]),
        )
        for row in rows
    ]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stratum_totals(
    engine: Engine,
    experiment_key: str,
    boundaries: Sequence[datetime],
    *,
    start: date | None,
    end: date | None,
    segment: Segment | None,
    revenue_cap: float | None,
) -> list[StratumTotals]:
    """Capped sums per (stratum, variant[, segment value]), a visitor's stratum being the index
    of the last of the ascending `boundaries` at or before their first exposure (-1 before
    the first). The index is a balanced tree of CASEs over whole epoch seconds, so each row
    costs log2(len(boundaries)) comparisons; subqueries compute the seconds once per row and
    the index once, so the GROUP BY names a column rather than repeating the expression.
    """
    revenue = capped(vo.c.revenue, revenue_cap)
    annualised = capped(vo.c.annualised_value, revenue_cap)
    exposed = (
        select(
            vo.c.variant_key,
            *([vo.c[segment].label("segment")] if segment is not None else []),
            epoch_seconds(engine, vo.c.first_exposure_at).label("seconds"),
            case((vo.c.conversions > 0, 1), else_=0).label("converted"),
            revenue.label("revenue"),
            annualised.label("annualised"),
            *(case((turned_away, 1), else_=0).label(name) for name, turned_away in _turned_away()),
        )
        .where(*exposed_visitors(experiment_key, start, end))
        .subquery()
    )
    bounds = [int(b.timestamp()) for b in boundaries]
    inner = select(
        *(c for c in exposed.c if c.name != "seconds"),
        _index_of(exposed.c.seconds, bounds, 0).label("stratum"),
    ).subquery()
    keys = [inner.c.stratum, inner.c.variant_key, *([inner.c.segment] if segment else [])]
    sums = capped_sums(inner.c.converted, inner.c.revenue, inner.c.annualised)
    # The guardrail rates are per visitor too, so they are stratified like the others.
    sums += [func.sum(inner.c[name]).label(name) for name, _ in _turned_away()]
    query = select(*keys, *sums).group_by(*keys)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        StratumTotals(int(row["stratum"]), totals_of(row, row["segment"] if segment else None))
        for row in rows
    ]


def _turned_away() -> list[tuple[str, ColumnElement[bool]]]:
    """Per visitor: whether they ever dismissed the banner that way, by ArmTotals' count
    (the same conditions as `arm_totals` counts)."""
    return [
        ("remind_later_visitors", vo.c.first_remind_later_at.is_not(None)),
        ("close_visitors", vo.c.dismiss_close > 0),
        ("already_donated_visitors", vo.c.dismiss_already_donated > 0),
    ]


def _kept(conn: Connection, experiment_key: str, revenue_cap: float | None) -> bool:
    """Whether the experiment's kept sums (store/sql/outcome_sums.py) are complete and were
    built for this revenue cap; if not, the report scans the outcomes."""
    built_for = conn.execute(
        select(state.c.revenue_cap).where(state.c.experiment_key == experiment_key)
    ).first()
    return built_for is not None and built_for.revenue_cap == revenue_cap


def _summed(
    experiment_key: str, start: date | None, end: date | None, segment: Segment | None
) -> Select[Any]:
    """arm_totals from the kept sums: the same figures, from one row per bucket."""
    segment_col: ColumnElement[Any] = (
        kept.c[segment] if segment is not None else literal(None).label("segment")
    )
    return (
        select(kept.c.variant_key, segment_col.label("segment"), *_sum_all())
        .where(*_kept_hours(experiment_key, start, end))
        .group_by(kept.c.variant_key, *([kept.c[segment]] if segment is not None else []))
        .having(_anyone())
    )


def _summed_series(
    conn: Connection, experiment_key: str, start: date | None, end: date | None
) -> list[DayTotals]:
    """day_totals from the kept sums, whose buckets are hours since the epoch already."""
    first = conn.execute(
        select(func.min(kept.c.hour)).where(
            kept.c.experiment_key == experiment_key, kept.c.visitors > 0
        )
    ).scalar_one()
    if first is None:
        return []
    switch = hourly_until(datetime.fromtimestamp(int(first) * 3600, UTC))
    switch_hour = int(switch.timestamp()) // 3600  # whole: hourly_until ends on an hour
    day = (kept.c.hour // literal_column("24")).label("day")
    bound: ColumnElement[int] = literal_column(str(switch_hour))  # SELECT = GROUP BY
    hour = case((kept.c.hour < bound, kept.c.hour), else_=None).label("hour")
    query = (
        select(kept.c.variant_key, day, hour, *_sum_all(_DAY_SUMS))
        .where(*_kept_hours(experiment_key, start, end))
        .group_by(kept.c.variant_key, day, hour)
        .having(_anyone())
    )
    return [
        DayTotals(
            _EPOCH + timedelta(days=int(row["day"])),
            totals_of(row, None),
            None if row["hour"] is None else int(row["hour"]) % 24,
        )
        for row in conn.execute(query).mappings()
    ]


def _anyone() -> ColumnElement[bool]:
    """Groups the scan would return: a bucket every visitor has left (a first exposure moved
    earlier, a country first seen later, an erasure) stays behind with zeros."""
    return func.sum(kept.c.visitors) > 0


_ALL_SUMS = tuple(name for name, _ in SUM_FIELDS)


def _sum_all(names: Sequence[str] = _ALL_SUMS) -> list[Any]:
    return [func.sum(kept.c[name]).label(name) for name in names]


def _kept_hours(key: str, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    """exposed_visitors' date range in the kept sums' hours since the epoch."""
    conditions = [kept.c.experiment_key == key]
    if start is not None:
        conditions.append(kept.c.hour >= (start - _EPOCH).days * 24)
    if end is not None and end < date.max:
        conditions.append(kept.c.hour < ((end - _EPOCH).days + 1) * 24)
    return conditions


# The sums day_totals reads: visitors, converters and the capped revenue sums.
_DAY_SUMS = (
    "visitors",
    "converters",
    "revenue_capped",
    "revenue_capped_squares",
    "annualised_capped",
    "annualised_capped_squares",
)


def _index_of(value: ColumnElement[Any], bounds: Sequence[int], offset: int) -> ColumnElement[Any]:
    """offset + (index of the last bound <= value), or offset - 1 below them all; literals, not
    bind parameters, so thousands of boundaries stay within every driver's parameter limit."""
    if not bounds:
        return literal_column(str(offset - 1))
    mid = len(bounds) // 2
    return case(
        (value < literal_column(str(bounds[mid])), _index_of(value, bounds[:mid], offset)),
        else_=_index_of(value, bounds[mid + 1 :], offset + mid + 1),
    )


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
