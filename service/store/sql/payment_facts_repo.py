"""SQL of the payment model (tables in payment_tables.py); the use case is
service/usecases/apply_payment_fact.py.

Every function takes the caller's connection: a fact is applied in one transaction, which
`lock` serialises against every other fact on PostgreSQL (SQLite has one writer at a time).
Payment webhooks come at donation rates, so one lock costs nothing and rules out a refund
and its payment each missing the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.engine import RowMapping

from service.domain.experiment import Frequency
from service.domain.payment_facts import FactKind, PaymentFact
from service.domain.payment_model import HeldFact, held_order
from service.store.sql.payment_tables import (
    payment_credits,
    payment_facts,
    payment_money,
    payment_names,
    payment_waits,
)
from service.store.sql.types import dialect_insert

# The advisory lock's key (ASCII "SFpf"), apart from outcome_sums' key space.
_LOCK = 0x53467066


def lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s::bigint)", (_LOCK,))


def insert_fact(conn: Connection, fact: PaymentFact, now: datetime) -> bool:
    """Record the fact as being applied: False if its id was received before."""
    statement = (
        dialect_insert(conn, payment_facts)
        .values(
            fact_id=fact.fact_id,
            kind=fact.kind.value,
            status="applied",
            ts=fact.ts,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["fact_id"])
        .returning(payment_facts.c.fact_id)
    )
    return conn.execute(statement).first() is not None


def set_status(
    conn: Connection, fact_id: str, status: str, now: datetime, visitor: str | None
) -> None:
    conn.execute(
        update(payment_facts)
        .where(payment_facts.c.fact_id == fact_id)
        .values(status=status, applied_at=now, body=None, visitor=visitor)
    )


def hold(conn: Connection, fact: PaymentFact, names: Sequence[str]) -> None:
    """Keep the fact until one of `names` is known."""
    conn.execute(
        update(payment_facts)
        .where(payment_facts.c.fact_id == fact.fact_id)
        .values(status="held", body=fact_body(fact))
    )
    rows = [{"name": name, "fact_id": fact.fact_id} for name in dict.fromkeys(names)]
    conn.execute(
        dialect_insert(conn, payment_waits).on_conflict_do_nothing(
            index_elements=["name", "fact_id"]
        ),
        rows,
    )


def release(conn: Connection, names: Iterable[str]) -> list[PaymentFact]:
    """The held facts waiting on any of `names`, in the order to apply them, each taken off
    hold (so it is applied once)."""
    names = list(dict.fromkeys(names))
    if not names:
        return []
    ids = set(
        conn.execute(
            select(payment_waits.c.fact_id).where(payment_waits.c.name.in_(names))
        ).scalars()
    )
    if not ids:
        return []
    rows = conn.execute(
        select(payment_facts.c.fact_id, payment_facts.c.ts, payment_facts.c.body).where(
            payment_facts.c.fact_id.in_(sorted(ids)), payment_facts.c.status == "held"
        )
    ).all()
    bodies = {row.fact_id: row.body for row in rows}
    conn.execute(delete(payment_waits).where(payment_waits.c.fact_id.in_(sorted(ids))))
    order = held_order(HeldFact(row.fact_id, row.ts) for row in rows)
    return [fact_from_body(bodies[fact_id]) for fact_id in order]


def find_money(conn: Connection, names: Sequence[str]) -> RowMapping | None:
    """The payment or renewal the first known of `names` names."""
    names = [name for name in dict.fromkeys(names) if name]
    if not names:
        return None
    found = dict(
        conn.execute(
            select(payment_names.c.name, payment_names.c.money_id).where(
                payment_names.c.name.in_(names)
            )
        ).all()
    )
    for name in names:
        if name in found:
            return money(conn, found[name])
    return None


def money(conn: Connection, money_id: str) -> RowMapping | None:
    query = select(payment_money).where(payment_money.c.money_id == money_id)
    return conn.execute(query).mappings().first()


def insert_money(conn: Connection, **row: Any) -> None:
    conn.execute(payment_money.insert().values(**row))


def update_money(conn: Connection, money_id: str, **values: Any) -> None:
    conn.execute(update(payment_money).where(payment_money.c.money_id == money_id).values(**values))


def add_names(conn: Connection, names: Iterable[str], money_id: str) -> list[str]:
    """Name the money by `names`; returns those that were new (the first claim keeps a name)."""
    added = []
    for name in dict.fromkeys(names):
        statement = (
            dialect_insert(conn, payment_names)
            .values(name=name, money_id=money_id)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(payment_names.c.name)
        )
        if conn.execute(statement).first() is not None:
            added.append(name)
    return added


def insert_credits(conn: Connection, series_id: str, rows: list[dict[str, str]]) -> None:
    if rows:
        conn.execute(payment_credits.insert(), [{"series_id": series_id, **row} for row in rows])


def credits(conn: Connection, series_id: str) -> list[RowMapping]:
    query = (
        select(payment_credits)
        .where(payment_credits.c.series_id == series_id)
        .order_by(payment_credits.c.experiment_key)
    )
    return list(conn.execute(query).mappings())


def erase(conn: Connection, visitor: str) -> dict[str, int]:
    """Forget the visitor: their credits go, and their payments, renewals and facts no longer
    name them. The rows stay, anonymous, so a replayed fact is still a duplicate and a later
    refund of an erased payment is recognised (and applied to no one) rather than held."""
    removed = {
        "payment_credits": conn.execute(
            delete(payment_credits).where(payment_credits.c.visitor == visitor)
        ).rowcount
    }
    for table in (payment_money, payment_facts):
        removed[table.name] = conn.execute(
            update(table).where(table.c.visitor == visitor).values(visitor=None)
        ).rowcount
    return removed


def fact_body(fact: PaymentFact) -> dict[str, Any]:
    return {
        "fact_id": fact.fact_id,
        "kind": fact.kind.value,
        "ts": fact.ts.isoformat(),
        "names": list(fact.names),
        "refers_to": list(fact.refers_to),
        "subscription": fact.subscription,
        "visitor": fact.visitor,
        "token": fact.token,
        "amount_minor": fact.amount_minor,
        "currency": fact.currency,
        "refunded_total_minor": fact.refunded_total_minor,
        "frequency": fact.frequency.value,
    }


def fact_from_body(body: dict[str, Any]) -> PaymentFact:
    return PaymentFact(
        fact_id=body["fact_id"],
        kind=FactKind(body["kind"]),
        ts=datetime.fromisoformat(body["ts"]),
        names=tuple(body["names"]),
        refers_to=tuple(body["refers_to"]),
        subscription=body["subscription"],
        visitor=body["visitor"],
        token=body["token"],
        amount_minor=body["amount_minor"],
        currency=body["currency"],
        refunded_total_minor=body["refunded_total_minor"],
        frequency=Frequency(body["frequency"]),
    )
