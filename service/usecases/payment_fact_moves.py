"""What each kind of fact after a payment (a renewal, a refund, a won dispute's
reinstatement, a cancellation) moves: the stored money updated, and per credited experiment
the revenue, 12-month value and minor units it changes results by. The arithmetic is
service/domain/payment_model.py's; service/usecases/apply_payment_fact.py turns the moves
into events, inside the transaction and lock it holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from service.domain import payment_model as model
from service.domain.events import EventRecord, EventType, Source
from service.domain.experiment import Frequency
from service.domain.money import convert, exponent
from service.domain.payment_facts import PaymentFact
from service.store.sql import payment_facts_repo as repo
from service.wiring import Services

# Per credit, signed: revenue and 12-month value in the experiment's reporting currency, and
# the money in minor units of the currency the fact is recorded in.
Move = tuple[float, float, int]


class MoneyMoves:
    """The per-kind steps of one transaction's applying (subclassed by its applier)."""

    def __init__(self, svc: Services, conn: Connection, now: datetime) -> None:
        self.svc, self.conn, self.now = svc, conn, now

    def renewal(
        self, fact: PaymentFact, series: RowMapping, credits: list[RowMapping], ts: datetime
    ) -> tuple[list[Move], str, list[str]]:
        """A later payment of `series`: its own money row (so a refund can name it), one more
        payment received. Returns the moves, their currency and the names it added."""
        money_id = fact.names[0] if fact.names else fact.fact_id
        paid, currency = fact.amount_minor, fact.currency or series["currency"]
        repo.insert_money(
            self.conn,
            money_id=money_id,
            series_id=series["money_id"],
            kind="renewal",
            visitor=series["visitor"],
            amount_minor=paid,
            currency=currency,
            frequency=series["frequency"],
            ts=ts,
            subscription=fact.subscription,
            reversed_minor=0,
            reported_refunded_minor=0,
            payments_received=0,
        )
        received = series["payments_received"]
        repo.update_money(self.conn, series["money_id"], payments_received=received + 1)
        added = repo.add_names(self.conn, [money_id, *fact.names], money_id)
        moves = []
        for credit in credits:
            revenue = self.convert(paid, currency, self.currency_of(credit))
            moves.append(
                (revenue, model.renewal_value(revenue, series["frequency"], received), paid)
            )
        return moves, currency, added

    def refund(
        self, fact: PaymentFact, target: RowMapping, credits: list[RowMapping]
    ) -> tuple[list[Move], str]:
        """A refund or dispute of `target` (a payment or a renewal), capped at what is left."""
        currency = target["currency"]
        cumulative = fact.refunded_total_minor
        change = model.reversal(
            target["amount_minor"],
            target["reversed_minor"],
            target["reported_refunded_minor"],
            incremental_minor=self.in_currency(fact.amount_minor, fact.currency, currency),
            cumulative_minor=(
                None
                if cumulative is None
                else self.in_currency(cumulative, fact.currency, currency)
            ),
        )
        repo.update_money(
            self.conn,
            target["money_id"],
            reversed_minor=change.reversed_minor,
            reported_refunded_minor=change.reported_total_minor,
        )
        return self._each(credits, -change.applied_minor, currency), currency

    def reinstatement(
        self, fact: PaymentFact, target: RowMapping, credits: list[RowMapping]
    ) -> tuple[list[Move], str]:
        """Money a dispute took coming back to `target`, never more than was taken; given back
        to what the refunds took, so a later refund of it can take it again."""
        currency = target["currency"]
        back = model.reinstated(
            self.in_currency(fact.amount_minor, fact.currency, currency), target["reversed_minor"]
        )
        if back:
            reversed_minor = target["reversed_minor"] - back
            repo.update_money(self.conn, target["money_id"], reversed_minor=reversed_minor)
        return self._each(credits, back, currency), currency

    def cancellation(
        self, series: RowMapping, credits: list[RowMapping], ts: datetime
    ) -> list[Move]:
        """A recurring series ended, once: the expected payments that will not come."""
        if series["cancelled_at"] is not None or series["frequency"] == Frequency.one_off:
            return []
        repo.update_money(self.conn, series["money_id"], cancelled_at=ts)
        received = series["payments_received"]
        if not received:
            return []  # ended during its trial: no money in, none expected was counted
        moves: list[Move] = []
        for credit in credits:
            amount = self.convert(
                series["amount_minor"], series["currency"], self.currency_of(credit)
            )
            loss = model.cancellation_loss(amount, series["frequency"], received)
            minor = series["amount_minor"] * round(loss / amount) if amount else 0
            moves.append((0.0, -loss, -minor))
        return moves

    def _each(self, credits: list[RowMapping], minor: int, currency: str) -> list[Move]:
        """`minor` (signed) moving revenue and the 12-month value alike, per credit."""
        if not minor:
            return []
        moves = []
        for credit in credits:
            amount = self.convert(abs(minor), currency, self.currency_of(credit))
            moves.append((amount if minor > 0 else -amount,) * 2 + (minor,))
        return moves

    def event(
        self, event_id: str, kind: EventType, credit: Any, ts: datetime, **money: Any
    ) -> EventRecord:
        return EventRecord(
            event_id=event_id,
            type=kind,
            experiment=credit["experiment_key"],
            variant=credit["variant_key"],
            visitor=credit["visitor"],
            ts_ms=int(ts.timestamp() * 1000),
            received_ms=int(self.now.timestamp() * 1000),
            source=Source.webhook,
            **money,
        )

    def currency_of(self, credit: Any) -> str:
        """The reporting currency of the experiment `credit` is to."""
        experiment = self.svc.experiment_cache.snapshot().by_key.get(credit["experiment_key"])
        return experiment.analysis.currency if experiment is not None else "USD"

    def convert(self, amount_minor: int, currency: str, target: str) -> float:
        return convert(amount_minor, currency, target, self.svc.settings.currency_rates)

    def in_currency(self, amount_minor: int, currency: str | None, target: str) -> int:
        """amount_minor of `currency` in minor units of `target` (the payment's currency)."""
        if currency is None or currency == target:
            return amount_minor
        return round(self.convert(amount_minor, currency, target) * 10.0 ** exponent(target))
