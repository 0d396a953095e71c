"""The payment model's tables (service/usecases/apply_payment_fact.py): which facts were
applied or are held, the money each payment and renewal brought, the ids it goes by, and the
experiments and variants its series was credited to. Part of tables.metadata (tables.py
imports this module), kept apart so that module stays readable.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from service.store.sql.schema import KEY, VISITOR, metadata
from service.store.sql.types import Document, UtcDateTime

FACT_ID = String(128)

# One row per fact ever received: the primary key is what makes applying a fact exactly once.
# status: applied | held (waiting for a payment it refers to; `body` is the fact) |
# unattributed (a payment with no reader, or a fact about one).
payment_facts = Table(
    "payment_facts",
    metadata,
    Column("fact_id", FACT_ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ts", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("applied_at", UtcDateTime),
    Column("body", Document),  # the fact, while held
    Column("visitor", VISITOR, index=True),  # the reader whose money it moved, for erasure
    Index("ix_payment_facts_status_ts", "status", "ts"),
)

# The ids a held fact waits on: applying a fact that adds one of them applies it.
payment_waits = Table(
    "payment_waits",
    metadata,
    Column("name", FACT_ID, primary_key=True),
    Column("fact_id", FACT_ID, primary_key=True),
)

# One row per payment or renewal. `series_id` is the money_id of the series' first payment
# (itself, for a payment), whose row also holds the series' state: payments received, and
# when it was cancelled. Amounts are minor units of `currency`.
payment_money = Table(
    "payment_money",
    metadata,
    Column("money_id", FACT_ID, primary_key=True),
    Column("series_id", FACT_ID, nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # payment | renewal
    Column("visitor", VISITOR, index=True),  # NULL: unattributed
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("ts", UtcDateTime, nullable=False),
    Column("subscription", FACT_ID),
    Column("reversed_minor", BigInteger, nullable=False, default=0),  # refunds and disputes
    # The highest cumulative refunded total a processor reported (payment_model.reversal).
    Column("reported_refunded_minor", BigInteger, nullable=False, default=0),
    Column("payments_received", Integer, nullable=False, default=1),  # series row only
    Column("cancelled_at", UtcDateTime),  # series row only
)

# Every id a payment or renewal goes by (its own, the processor's others, its subscription's),
# mapped to its money row; the first to claim an id keeps it.
payment_names = Table(
    "payment_names",
    metadata,
    Column("name", FACT_ID, primary_key=True),
    Column("money_id", FACT_ID, nullable=False, index=True),
)

# Where a series' money goes: one row per experiment its first payment was credited to.
payment_credits = Table(
    "payment_credits",
    metadata,
    Column("series_id", FACT_ID, primary_key=True),
    Column("experiment_key", KEY, primary_key=True),
    Column("variant_key", KEY, nullable=False),
    Column("visitor", VISITOR, nullable=False, index=True),
)
