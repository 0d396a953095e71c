"""Payments reported by the payment side, idempotent by the provider's payment id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from service.store.sql.event_tables import payments
from service.store.sql.types import dialect_insert


def insert_payment(conn: Connection, **row: Any) -> bool:
    """Insert a `payments` row (every column but the surrogate id): True if this payment id
    is new; False if it was recorded before (a retry)."""
    statement = (
        dialect_insert(conn, payments)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["payment_id"])
        .returning(payments.c.id)
    )
    # RETURNING yields a row only when the insert happened, on either backend.
    return conn.execute(statement).first() is not None
