"""Erasure of one visitor's rows (right to be forgotten)."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from service.store.sql.tables import events, payments, visitor_outcomes


def erase_visitor(engine: Engine, visitor: str) -> dict[str, int]:
    """Delete every row that names the visitor, in one transaction; returns counts per table.

    Daily rollups keep their counts: they are aggregates that name nobody.
    """
    removed: dict[str, int] = {}
    with engine.begin() as conn:
        for table in (events, visitor_outcomes, payments):
            result = conn.execute(delete(table).where(table.c.visitor == visitor))
            removed[table.name] = result.rowcount
    return removed
