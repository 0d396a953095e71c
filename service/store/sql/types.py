"""Column types that behave the same on SQLite and PostgreSQL, and what fits in them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
Document = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in and out.

    SQLite stores no offset, so values are normalised to UTC on the way in and tagged as UTC on
    the way out; PostgreSQL's timestamptz does the same natively.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UtcDateTime needs a timezone-aware datetime")
        utc: datetime = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Years 1 to 9999 in epoch milliseconds: what both databases and Python's datetime hold.
MIN_MS, MAX_MS = -62_135_596_800_000, 253_402_300_799_999


def utc(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime (exact: no float rounding)."""
    return EPOCH + timedelta(milliseconds=ms)


def text_check(table: Table, **columns: str) -> Callable[[Any], str | None]:
    """A check of an object's text attributes against the `table` columns that store them
    (attribute=column): why the first that cannot be stored, wider than its column or holding
    a NUL, does not fit, or None. Such a value would fail its whole batch on every retry."""
    values = attrgetter(*columns)
    widths = []
    for column in columns.values():
        column_type = table.c[column].type
        assert isinstance(column_type, String) and column_type.length
        widths.append((column, column_type.length))

    def check(obj: Any) -> str | None:
        for value, (column, width) in zip(values(obj), widths, strict=True):
            if value is not None and (len(value) > width or "\x00" in value):
                return f"{column} longer than {width} characters or holding a NUL"
        return None

    return check


def dialect_insert(bind: Connection | Engine, table: Table) -> Any:
    """INSERT with the dialect's ON CONFLICT clauses, which both databases spell alike."""
    return (postgresql if bind.dialect.name == "postgresql" else sqlite).insert(table)


def rows_insert(bind: Connection | Engine, table: Table) -> Any:
    """INSERT of many rows for an upsert (add its ON CONFLICT clause). On PostgreSQL the rows
    travel as one JSON array that json_populate_recordset turns into rows of the table's own
    type: one statement of fixed shape, and serialising with orjson costs a fraction of
    adapting thousands of parameters (or arrays of them) one by one. On SQLite, executemany.
    Pass the rows through `rows_params`; each must hold every column."""
    if bind.dialect.name != "postgresql":
        return sqlite.insert(table)
    names = [column.name for column in table.columns]
    rows_json = cast(bindparam("rows", type_=Text), JSON)
    source = func.json_populate_recordset(
        literal_column(f"NULL::{table.name}"), rows_json
    ).table_valued(*names)
    return postgresql.insert(table).from_select(names, select(*source.c))


def rows_params(bind: Connection | Engine, rows: list[dict[str, Any]]) -> Any:
    """The parameters of a `rows_insert` statement for these rows."""
    if bind.dialect.name != "postgresql":
        return rows  # executemany (SQLAlchemy batches it into multi-row VALUES)
    return {"rows": orjson.dumps(rows).decode()}
