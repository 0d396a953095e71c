"""Receiving a real donation from the payment side (POST /v1/conversions, whose signature
service/api/public/payment_webhook.py checks), and crediting it to the experiments that showed the
donor an appeal.

Idempotent by payment id: the payment row is inserted first, in a transaction that commits
only once Redis has the credits, so a retry after any failure is safe and a retry after
success changes nothing.

No SQL fallback here, unlike recording events: the credits depend on the visitor's ledger in
Redis, so without Redis the payment is refused (Unavailable: a 503) and the provider retries.
A Redis reply that times out after the script ran leaves the credits in Redis and rolls the
payment row back; the retry then finds the credits' event ids (one per payment and
experiment) already marked, so neither the live counters nor SQL count them twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DataError, SQLAlchemyError

from service.domain.bucketing import HOLDOUT, bucket
from service.domain.errors import ValidationFailed
from service.domain.events import ANNUAL_MULTIPLIER, EventRecord, EventType, Source
from service.domain.experiment import Experiment, Frequency
from service.domain.instants import InstantInvalid, parse_instant
from service.domain.ledger import Ledger, parse_ledger, supporter_ops
from service.domain.money import MoneyError, convert, to_minor
from service.domain.tokens import TokenInvalid
from service.schemas.events import EVENT_ID
from service.store.redis.client import REDIS_ERRORS
from service.store.sql.payments_repo import insert_payment
from service.store.sql.tables import events as events_table
from service.usecases.errors import Unavailable
from service.wiring import Services

log = logging.getLogger(__name__)

_PAYMENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
_FIELDS = {"id", "visitor", "token", "amount", "currency", "frequency", "ts"}
_EVENT_ID_LENGTH: int = events_table.c.event_id.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PaymentReceived:
    payment: str
    duplicate: bool
    # {"experiment": key, "variant": key} per experiment credited
    credited: list[dict[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {"payment": self.payment, "duplicate": self.duplicate, "credited": self.credited}


def receive_payment(svc: Services, body: object) -> PaymentReceived:
    """body: the payment as the payment side sent it (parsed JSON, its signature checked).
    Raises ValidationFailed naming every bad field, or Unavailable."""
    now = svc.clock()
    payment = _parse(body, svc, now)
    try:
        with svc.engine.begin() as conn:
            new = insert_payment(conn, received_at=now, **payment)
            if not new:
                return PaymentReceived(payment["payment_id"], duplicate=True, credited=[])
            credited = _credit(svc, payment, now)
    except DataError as exc:
        # A value the database cannot hold is the request's fault, not an outage: a 503 would
        # have the payment side retry it forever. Validation should leave nothing to get here.
        log.error("payment refused by the database: %s", exc.orig)
        message = "the payment has a value the database cannot store"
        raise ValidationFailed({"$": message}, message) from None
    except SQLAlchemyError as exc:
        log.error("payment not recorded, SQL is away: %s", exc)
        raise _unavailable() from None
    except REDIS_ERRORS as exc:
        log.error("payment not recorded, Redis is away: %s", exc)
        raise _unavailable() from None
    return PaymentReceived(payment["payment_id"], duplicate=False, credited=credited)


def _parse(body: object, svc: Services, now: datetime) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed({"$": "must be an object"}, "the body must be an object")
    errors = {name: "unknown field" for name in body if name not in _FIELDS}
    payment_id = body.get("id")
    if not isinstance(payment_id, str) or not _PAYMENT_ID.fullmatch(payment_id):
        errors["id"] = "required: the payment id, 1 to 100 of A-Z a-z 0-9 _ . : -"
    visitor = _visitor(body, svc, now, errors)
    currency = body.get("currency")
    amount = body.get("amount")
    amount_minor = 0
    if not isinstance(currency, str):
        errors["currency"] = "required: an ISO 4217 code such as USD"
    elif isinstance(amount, bool) or not isinstance(amount, int | float):
        errors["amount"] = "required: the amount in major units, such as 10.0"
    else:
        try:
            amount_minor = to_minor(amount, currency, svc.settings.currency_rates)
        except MoneyError as exc:
            errors["currency" if "currency" in str(exc) else "amount"] = str(exc)
    frequency = Frequency.one_off
    claimed = body.get("frequency", "one_off")
    if isinstance(claimed, str) and claimed in Frequency._value2member_map_:
        frequency = Frequency(claimed)
    else:
        errors["frequency"] = "must be one of " + ", ".join(f.value for f in Frequency)
    ts = now
    if body.get("ts") is not None:
        try:
            ts = min(parse_instant(body["ts"]), now)
        except InstantInvalid as exc:
            errors["ts"] = str(exc)
    if errors:
        raise ValidationFailed(errors, "the payment is invalid")
    return {
        "payment_id": payment_id,
        "visitor": visitor,
        "amount_minor": amount_minor,
        "currency": currency,
        "frequency": str(frequency),
        "ts": ts,
    }


def _visitor(body: dict[str, Any], svc: Services, now: datetime, errors: dict[str, str]) -> str:
    if isinstance(body.get("visitor"), str) and EVENT_ID.fullmatch(body["visitor"]):
        return str(body["visitor"])
    if isinstance(body.get("token"), str):
        try:
            # A payment can follow its decision by days; the signature is what matters here.
            claims = svc.signer.verify_decision(body["token"], int(now.timestamp()), 90 * 86_400)
            return claims.visitor
        except TokenInvalid as exc:
            errors["token"] = str(exc)
            return ""
    errors["visitor"] = "required: the visitor id (or the decision token as token)"
    return ""


def _credit(svc: Services, payment: dict[str, Any], now: datetime) -> list[dict[str, str]]:
    """Credit the donation to every experiment the visitor had an impression in (or was
    counted in a shipped experiment's holdout group of) within that experiment's attribution
    window before it, and mark the visitor a supporter."""
    visitor, ts = payment["visitor"], payment["ts"]
    ledger = parse_ledger(svc.ledger.read(visitor))
    experiments = svc.experiment_cache.snapshot().by_key
    records, credited = [], []
    for key, last_exposure, variant in _exposures(ledger, experiments, visitor):
        experiment = experiments[key]
        window = experiment.attribution_days * 86_400
        if not ts.timestamp() - window <= last_exposure <= ts.timestamp() + 60:
            continue
        revenue = convert(
            payment["amount_minor"],
            payment["currency"],
            experiment.analysis.currency,
            svc.settings.currency_rates,
        )
        records.append(
            EventRecord(
                event_id=payment_event_id(payment["payment_id"], key),
                type=EventType.conversion,
                experiment=key,
                variant=variant,
                visitor=visitor,
                ts_ms=int(ts.timestamp() * 1000),
                received_ms=int(now.timestamp() * 1000),
                source=Source.webhook,
                amount_minor=payment["amount_minor"],
                currency=payment["currency"],
                frequency=payment["frequency"],
                revenue=revenue,
                annualised=revenue * ANNUAL_MULTIPLIER[payment["frequency"]],
                payment_id=payment["payment_id"],
            )
        )
        credited.append({"experiment": key, "variant": variant})
    svc.event_ingest.record(
        records,
        {visitor: supporter_ops(ts.timestamp())},
        "webhook",
        now,
        rate_limited=False,
    )
    return credited


def _exposures(
    ledger: Ledger, experiments: Mapping[str, Experiment], visitor: str
) -> Iterator[tuple[str, float, str]]:
    """(experiment, when the reader was last exposed to it, the variant to credit) for every
    experiment a donation may be credited to."""
    # In the ledger's order, as the credits were always listed, holdout-only keys after.
    for key in dict.fromkeys([*ledger.last_impressions, *ledger.holdout_exposures]):
        experiment = experiments.get(key)
        if experiment is None:
            continue
        variant = ledger.assignments.get(key)
        last = ledger.last_impressions.get(key)
        if experiment.shipped is not None:
            # A shipped winner is shown without being stored (service/domain/decision.py): the
            # reader's variant now is the ship's, or the shipped holdout, whose readers count
            # as exposed when the decision recorded them (service/domain/shipped_holdout.py).
            variant = bucket(experiment, visitor).assignment
            if variant == HOLDOUT:
                last = ledger.holdout_exposures.get(key)
                if last is not None:
                    yield key, last, HOLDOUT
                continue
        if variant is not None and last is not None and experiment.variant(variant) is not None:
            yield key, last, variant


def payment_event_id(payment_id: str, experiment: str) -> str:
    """The id of a payment's conversion event in one experiment: "pay:<payment id>:<key>", or,
    when that is longer than the events table's column (a 100-character payment id and a
    40-character key make 145), the payment id's digest in its place, so it still fits."""
    event_id = f"pay:{payment_id}:{experiment}"
    if len(event_id) <= _EVENT_ID_LENGTH:
        return event_id
    digest = hashlib.blake2b(payment_id.encode(), digest_size=16).hexdigest()
    return f"pay:{digest}:{experiment}"


def _unavailable() -> Unavailable:
    return Unavailable("the payment could not be recorded; retry later")
