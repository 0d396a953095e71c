"""Applying one PaymentFact (service/domain/payment_facts.py) to results: the single path every
processor's webhook goes through.

Exactly once per fact id: the fact's row (payment_facts) is inserted first, in a transaction
that commits only once Redis has the events it produced, and every fact is applied under one
lock (store/sql/payment_facts_repo.py), so concurrent deliveries of the same fact, or of a
refund and its payment, see each other. The events' ids are derived from the fact id, so a
Redis reply that times out after the script ran rolls the SQL back and the retry's events are
dropped as repeats. The arithmetic is service/domain/payment_model.py's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DataError, SQLAlchemyError

from service import metrics
from service.domain import payment_model as model
from service.domain.errors import ValidationFailed
from service.domain.events import EventType
from service.domain.ledger import parse_ledger, supporter_ops
from service.domain.money import MAX_MINOR_UNITS
from service.domain.payment_facts import FactKind, PaymentFact
from service.domain.tokens import TokenInvalid
from service.store.redis.client import REDIS_ERRORS
from service.store.sql import payment_facts_repo as repo
from service.store.sql.payments_repo import insert_payment
from service.usecases.errors import Unavailable
from service.usecases.payment_credit import attributed, fact_event_id, payment_event_id
from service.usecases.payment_fact_moves import MoneyMoves, Move
from service.wiring import Services

log = logging.getLogger(__name__)

# applied: results moved (or, for a payment, it was recorded); duplicate: this fact_id was
# applied before, nothing changed; held: it refers to a payment not known yet, and will be
# applied when that payment arrives; unattributed: a payment with no reader, recorded and
# counted as such (facts about it are then applied as no-ops).
FactStatus = Literal["applied", "duplicate", "held", "unattributed"]

_PREFIX = {
    FactKind.renewal: "ren",
    FactKind.refund: "ref",
    FactKind.reinstatement: "rei",
    FactKind.cancellation: "can",
}
_TYPE = {
    FactKind.renewal: EventType.renewal,
    FactKind.refund: EventType.refund,
    FactKind.reinstatement: EventType.reinstatement,
    FactKind.cancellation: EventType.cancellation,
}


@dataclass(frozen=True, slots=True)
class FactApplied:
    fact: str  # the fact_id
    status: FactStatus
    # {"experiment": key, "variant": key} per experiment whose results moved
    credited: list[dict[str, str]] = field(default_factory=list)
    # Held facts this one released and applied, by id, with their status.
    released: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fact": self.fact, "status": self.status, "credited": self.credited}
        if self.released:
            out["released"] = self.released
        return out


def apply_payment_fact(svc: Services, fact: PaymentFact) -> FactApplied:
    """Apply `fact` exactly once. Raises ValidationFailed (a value the fact carries is
    unusable: an unknown currency, a bad token) naming the field, or Unavailable (SQL or
    Redis away: the caller answers 503 so the processor retries)."""
    now = svc.clock()
    visitor = _check(svc, fact, now)
    try:
        with svc.engine.begin() as conn:
            repo.lock(conn)
            if not repo.insert_fact(conn, fact, now):
                result = FactApplied(fact.fact_id, "duplicate")
            else:
                result = _Applier(svc, conn, now).apply(fact, visitor)
    except DataError as exc:
        log.error("payment fact refused by the database: %s", exc.orig)
        message = "the payment has a value the database cannot store"
        raise ValidationFailed({"$": message}, message) from None
    except SQLAlchemyError as exc:
        log.error("payment fact not applied, SQL is away: %s", exc)
        raise _unavailable() from None
    except REDIS_ERRORS as exc:
        log.error("payment fact not applied, Redis is away: %s", exc)
        raise _unavailable() from None
    metrics.PAYMENT_FACTS.labels(fact.kind.value, result.status).inc()
    return result


def _check(svc: Services, fact: PaymentFact, now: datetime) -> str | None:
    """The payment's reader (None: none named), once every value is known to be usable."""
    errors: dict[str, str] = {}
    rates = svc.settings.currency_rates
    if fact.currency is not None and fact.currency not in rates:
        errors["currency"] = f"unknown currency {fact.currency!r}"
    elif fact.currency is None and fact.kind in (*_STARTS, FactKind.renewal):
        errors["currency"] = "required: an ISO 4217 code such as USD"
    # Every way in (either webhook) lands here, so the bounds the tables rely on live here.
    for name, minor in (("amount", fact.amount_minor), ("amount", fact.refunded_total_minor)):
        if minor is not None and not 0 <= minor <= MAX_MINOR_UNITS:
            errors[name] = f"must be from 0 to {MAX_MINOR_UNITS} minor units"
    visitor = fact.visitor
    if fact.kind in _STARTS and visitor is None and fact.token is not None:
        try:
            # A payment can follow its decision by days; the signature is what matters here.
            claims = svc.signer.verify_decision(fact.token, int(now.timestamp()), 90 * 86_400)
            visitor = claims.visitor
        except TokenInvalid as exc:
            errors["token"] = str(exc)
    if errors:
        raise ValidationFailed(errors, "the payment fact is invalid")
    return visitor


class _Applier(MoneyMoves):
    """One transaction's worth of applying: a fact and the held facts it releases."""

    def __init__(self, svc: Services, conn: Connection, now: datetime) -> None:
        super().__init__(svc, conn, now)
        self.released: dict[str, str] = {}

    def apply(self, fact: PaymentFact, visitor: str | None) -> FactApplied:
        result = self._apply(fact, visitor)
        return FactApplied(result.fact, result.status, result.credited, self.released)

    def _apply(self, fact: PaymentFact, visitor: str | None) -> FactApplied:
        if fact.kind in _STARTS:
            result, names = self._payment(fact, visitor)
        else:
            target = repo.find_money(self.conn, _refers(fact))
            if target is None:
                repo.hold(self.conn, fact, _refers(fact))
                return FactApplied(fact.fact_id, "held")
            result, names = self._after(fact, target)
            visitor = target["visitor"]
        if result.status != "duplicate":
            repo.set_status(self.conn, fact.fact_id, result.status, self.now, visitor)
        for held in repo.release(self.conn, names):
            # Its own payment_facts row exists (held): re-applying it updates that row.
            self.released[held.fact_id] = self._apply(held, held.visitor).status
        return result

    def _payment(self, fact: PaymentFact, visitor: str | None) -> tuple[FactApplied, list[str]]:
        money_id = fact.names[0] if fact.names else fact.fact_id
        names = [money_id, *fact.names, *([fact.subscription] if fact.subscription else [])]
        ts = min(fact.ts, self.now)
        trial = fact.kind is FactKind.trial
        assert fact.currency is not None  # _check
        if repo.find_money(self.conn, [money_id]) is not None or (
            visitor is not None
            and not trial  # no money yet: the first paid renewal's conversion records it
            and not insert_payment(
                self.conn,
                payment_id=money_id,
                visitor=visitor,
                amount_minor=fact.amount_minor,
                currency=fact.currency,
                frequency=fact.frequency.value,
                ts=ts,
                received_at=self.now,
            )
        ):
            # Known under another fact id (or recorded before payment facts existed).
            repo.set_status(self.conn, fact.fact_id, "applied", self.now, visitor)
            return FactApplied(fact.fact_id, "duplicate"), []
        repo.insert_money(
            self.conn,
            money_id=money_id,
            series_id=money_id,
            kind="payment",
            visitor=visitor,
            amount_minor=fact.amount_minor,
            currency=fact.currency,
            frequency=fact.frequency.value,
            ts=ts,
            subscription=fact.subscription,
            reversed_minor=0,
            reported_refunded_minor=0,
            payments_received=0 if trial else 1,
        )
        added = repo.add_names(self.conn, names, money_id)
        if visitor is None:
            return FactApplied(fact.fact_id, "unattributed"), added
        credited = self._credit(fact, money_id, visitor, ts, convert=not trial)
        return FactApplied(fact.fact_id, "applied", credited), added

    def _credit(
        self, fact: PaymentFact, money_id: str, visitor: str, ts: datetime, *, convert: bool
    ) -> list[dict[str, str]]:
        """Records which experiments (and variants) the series is credited to; `convert`:
        with the payment's conversion events (a trial has none yet). The reader becomes a
        supporter either way: someone on a trial has answered the appeal."""
        assert fact.currency is not None
        ledger = parse_ledger(self.svc.ledger.read(visitor))
        experiments = self.svc.experiment_cache.snapshot().by_key
        records, credited = [], []
        for experiment, variant in attributed(ledger, experiments, visitor, ts):
            credited.append({"experiment": experiment.key, "variant": variant})
            if not convert:
                continue
            revenue = self.convert(fact.amount_minor, fact.currency, experiment.analysis.currency)
            records.append(
                self.event(
                    payment_event_id(money_id, experiment.key),
                    EventType.conversion,
                    {"experiment_key": experiment.key, "variant_key": variant, "visitor": visitor},
                    ts,
                    amount_minor=fact.amount_minor,
                    currency=fact.currency,
                    frequency=fact.frequency.value,
                    revenue=revenue,
                    annualised=model.first_payment_value(revenue, fact.frequency),
                    payment_id=money_id,
                )
            )
        repo.insert_credits(
            self.conn,
            money_id,
            [
                {"experiment_key": c["experiment"], "variant_key": c["variant"], "visitor": visitor}
                for c in credited
            ],
        )
        self.svc.event_ingest.record(
            records,
            {visitor: supporter_ops(ts.timestamp())},
            "webhook",
            self.now,
            rate_limited=False,
        )
        return credited

    def _after(self, fact: PaymentFact, target: RowMapping) -> tuple[FactApplied, list[str]]:
        """A renewal, refund, reinstatement, cancellation or link of the money `target`."""
        series = repo.money(self.conn, target["series_id"]) or target
        if fact.kind is FactKind.link:
            linked = repo.add_names(self.conn, fact.names, target["money_id"])
            return FactApplied(fact.fact_id, "applied"), linked
        ts = min(fact.ts, self.now)
        added: list[str] = []
        moves: list[Move] = []
        credits = repo.credits(self.conn, series["series_id"])
        currency = series["currency"]
        if fact.kind is FactKind.renewal and series["payments_received"] == 0:
            return self._first_paid(fact, series, credits, ts)
        if fact.kind is FactKind.renewal:
            moves, currency, added = self.renewal(fact, series, credits, ts)
        elif fact.kind is FactKind.refund:
            moves, currency = self.refund(fact, target, credits)
        elif fact.kind is FactKind.reinstatement:
            moves, currency = self.reinstatement(fact, target, credits)
        elif fact.kind is FactKind.cancellation:
            moves = self.cancellation(series, credits, ts)
        if series["visitor"] is None:
            return FactApplied(fact.fact_id, "unattributed"), added
        records, credited = [], []
        for credit, (revenue, value, minor) in zip(credits, moves, strict=False):
            records.append(
                self.event(
                    fact_event_id(_PREFIX[fact.kind], fact.fact_id, credit["experiment_key"]),
                    _TYPE[fact.kind],
                    credit,
                    ts,
                    amount_minor=minor,
                    currency=currency,
                    frequency=series["frequency"],
                    revenue=revenue,
                    annualised=value,
                    payment_id=target["money_id"],
                )
            )
            credited.append(
                {"experiment": credit["experiment_key"], "variant": credit["variant_key"]}
            )
        if records:
            self.svc.event_ingest.record(records, {}, "webhook", self.now, rate_limited=False)
        return FactApplied(fact.fact_id, "applied", credited), added

    def _first_paid(
        self, fact: PaymentFact, series: RowMapping, credits: list[RowMapping], ts: datetime
    ) -> tuple[FactApplied, list[str]]:
        """The first paid invoice of a series that began with a trial: its first payment, the
        conversion (under the series' payment event ids, as a paid Checkout's would be)."""
        money_id, frequency = series["money_id"], series["frequency"]
        paid, currency = fact.amount_minor, fact.currency or series["currency"]
        repo.update_money(
            self.conn, money_id, amount_minor=paid, currency=currency, ts=ts, payments_received=1
        )
        added = repo.add_names(self.conn, fact.names, money_id)
        if series["visitor"] is None:
            return FactApplied(fact.fact_id, "unattributed"), added
        records = []
        for credit in credits:
            revenue = self.convert(paid, currency, self.currency_of(credit))
            records.append(
                self.event(
                    payment_event_id(money_id, credit["experiment_key"]),
                    EventType.conversion,
                    credit,
                    ts,
                    amount_minor=paid,
                    currency=currency,
                    frequency=frequency,
                    revenue=revenue,
                    annualised=model.first_payment_value(revenue, frequency),
                    payment_id=money_id,
                )
            )
        self.svc.event_ingest.record(records, {}, "webhook", self.now, rate_limited=False)
        credited = [
            {"experiment": c["experiment_key"], "variant": c["variant_key"]} for c in credits
        ]
        return FactApplied(fact.fact_id, "applied", credited), added


# The facts that start a series (and name its reader).
_STARTS = (FactKind.payment, FactKind.trial)


def _refers(fact: PaymentFact) -> list[str]:
    return [*fact.refers_to, *([fact.subscription] if fact.subscription else [])]


def _unavailable() -> Unavailable:
    return Unavailable("the payment could not be recorded; retry later")
