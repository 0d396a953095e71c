"""Values as CSV cells: unlocalised (repr of a float round-trips exactly and never uses a
decimal comma), booleans as true/false, times in UTC ISO 8601, nothing as an empty cell. The
report's CSV and every export format write through here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from service.domain.instants import iso_utc


def cell(value: Any) -> str:
    """A value as CSV text; the export tests also read Parquet values back through it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
