"""Erasure of one visitor's rows (right to be forgotten)."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from service.store.sql import payment_facts_repo
from service.store.sql.delivery_tables import reminders
from service.store.sql.event_tables import events, payments, visitor_outcomes
from service.store.sql.outcome_sums import RunningSums


def erase_visitor(engine: Engine, visitor: str) -> dict[str, int]:
    """Delete every row that names the visitor, in one transaction; returns counts per table.

    E-mail reminders go with them, whatever their status: the encrypted address of one
    still waiting, and the counts (sign-up, confirmation, click) of the others. The payment
    model's rows stop naming the visitor (payment_facts_repo.erase).
    Daily rollups keep their counts: they are aggregates that name nobody. The report's kept
    sums lose the visitor, as a report scanning the outcomes would.
    """
    removed: dict[str, int] = {}
    sums = RunningSums(engine)
    with engine.begin() as conn:
        pending = sums.before_erasing(conn, visitor)
        for table in (events, visitor_outcomes, payments, reminders):
            result = conn.execute(delete(table).where(table.c.visitor == visitor))
            removed[table.name] = result.rowcount
        removed.update(payment_facts_repo.erase(conn, visitor))
        sums.after(conn, pending)
    return removed
