"""Payments reported by the payment side, idempotent by the provider's payment id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from service.store.sql.tables import payments
from service.store.sql.types import dialect_insert


def insert_payment(
    conn: Connection,
    *,
    payment_id: str,
    visitor: str,
    amount_minor: int,
    currency: str,
    frequency: str,
    ts: datetime,
    received_at: datetime,
) -> bool:
    """True if this payment id is new; False if it was recorded before (a retry)."""
    statement = (
        dialect_insert(conn, payments)
        .values(
            payment_id=payment_id,
            visitor=visitor,
            amount_minor=amount_minor,
            currency=currency,
            frequency=frequency,
            ts=ts,
            received_at=received_at,
        )
        .on_conflict_do_nothing(index_elements=["payment_id"])
        .returning(payments.c.id)
    )
    # RETURNING yields a row only when the insert happened, on either backend.
    return conn.execute(statement).first() is not None
