"""What the report counts and sums over visitor_outcomes, as SQL expressions: the exposure
rule, the winsorising, every sum of `ArmTotals` labelled with its field's name, and the row
they come back as. One definition shared by the report's queries (report_queries.py), the
flusher's kept sums (outcome_sums.py) and the reminder and placement results.

A visitor is exposed once `first_exposure_at` is set (their first impression); the date range
filters on that instant, [start 00:00 UTC, end + 1 day 00:00 UTC). Revenue and annualised
value are winsorised per visitor with CASE WHEN (portable across SQLite and PostgreSQL) before
summing, so the per-visitor n, Σx and Σx² the stats need never leave the database as rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Float,
    Integer,
    case,
    cast,
    extract,
    func,
    literal,
)
from sqlalchemy.sql.elements import ColumnElement

from service.domain.arm_totals import SUM_FIELDS, ArmTotals
from service.store.sql.event_tables import visitor_outcomes as vo


def outcome_sums(revenue_cap: float | None) -> list[ColumnElement[Any]]:
    """Every sum of `ArmTotals` over visitor_outcomes rows, labelled with its field's name:
    the report's full scan selects them per variant, and the flusher's running sums
    (store/sql/outcome_sums.py) per bucket of the visitors a batch touched, so the two are
    one definition."""
    revenue = capped(vo.c.revenue, revenue_cap)
    annualised = capped(vo.c.annualised_value, revenue_cap)
    return [
        *capped_sums(case((vo.c.conversions > 0, 1), else_=0), revenue, annualised),
        func.sum(vo.c.revenue).label("revenue"),
        func.sum(vo.c.annualised_value).label("annualised"),
        *(
            func.sum(vo.c[name]).label(name)
            for name in (
                "impressions",
                "views",
                "clicks",
                "dismiss_remind_later",
                "dismiss_close",
                "dismiss_already_donated",
                "conversions",
                "recurring_conversions",
            )
        ),
        _count_if(vo.c.first_remind_later_at.is_not(None)).label("remind_later_visitors"),
        _count_if(vo.c.converted_after_remind_later).label("converted_after_remind_later"),
        *_covariate_sums(case((vo.c.conversions > 0, 1), else_=0), revenue, annualised),
        _count_if(vo.c.dismiss_close > 0).label("close_visitors"),
        _count_if(vo.c.dismiss_already_donated > 0).label("already_donated_visitors"),
        *(
            func.sum(vo.c[name]).label(name)
            for name in ("renewals", "renewal_revenue", "refunds", "refunded", "cancellations")
        ),
        # Each recurring conversion is one series, each cancellation ends one.
        _count_if(vo.c.recurring_conversions > vo.c.cancellations).label("active_recurring_donors"),
        _count_if(
            (vo.c.recurring_conversions > 0) & (vo.c.cancellations >= vo.c.recurring_conversions)
        ).label("churned_donors"),
    ]


def reading(engine: Engine) -> Connection:
    """A connection whose statements share one snapshot on PostgreSQL, so the check that the
    kept sums are complete holds for the sums read after it."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


def capped_sums(converted: Any, revenue: Any, annualised: Any) -> list[ColumnElement[Any]]:
    """Visitors, converters and the capped revenue sums, which every query selects."""
    return [
        func.count().label("visitors"),
        func.sum(converted).label("converters"),
        func.sum(revenue).label("revenue_capped"),
        func.sum(revenue * revenue).label("revenue_capped_squares"),
        func.sum(annualised).label("annualised_capped"),
        func.sum(annualised * annualised).label("annualised_capped_squares"),
    ]


def _covariate_sums(converted: Any, revenue: Any, annualised: Any) -> list[ColumnElement[Any]]:
    """CUPED's Σx, Σx² and Σx·y, x the article count at first exposure (0 when the impression
    did not say), as a float: x² of a large count overflows PostgreSQL's 32-bit integers."""
    x = cast(func.coalesce(vo.c.pre_article_views, 0), Float)
    return [
        func.sum(x).label("article_views"),
        func.sum(x * x).label("article_views_squares"),
        func.sum(x * converted).label("article_views_converted"),
        func.sum(x * revenue).label("article_views_revenue_capped"),
        func.sum(x * annualised).label("article_views_annualised_capped"),
    ]


def totals_of(row: Any, segment: str | None) -> ArmTotals:
    """An arm's sums as the query selected them (the others stay zero)."""
    sums: dict[str, Any] = {name: kind(row[name] or 0) for name, kind in SUM_FIELDS if name in row}
    return ArmTotals(row["variant_key"], segment, **sums)


def epoch_seconds(bind: Engine | Connection, column: ColumnElement[Any]) -> ColumnElement[Any]:
    if bind.dialect.name == "sqlite":  # stored as naive UTC text
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(extract("epoch", column)), BigInteger)


def exposed_visitors(key: str, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    """The outcome rows the report counts: the experiment's visitors exposed in the range."""
    conditions = [vo.c.experiment_key == key, vo.c.first_exposure_at.is_not(None)]
    if start is not None:
        conditions.append(vo.c.first_exposure_at >= datetime.combine(start, time(), UTC))
    # Through the last day a date can name (9999-12-31) there is no next day to stop before.
    if end is not None and end < date.max:
        next_day = datetime.combine(end + timedelta(days=1), time(), UTC)
        conditions.append(vo.c.first_exposure_at < next_day)
    return conditions


def capped(column: ColumnElement[float], cap: float | None) -> ColumnElement[float]:
    """The column winsorised at `cap` (None: as it is)."""
    if cap is None:
        return column
    bound = literal(cap, Float)
    return case((column > bound, bound), else_=column)


def _count_if(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))
