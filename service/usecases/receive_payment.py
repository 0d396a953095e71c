"""Small Favor's own payment webhook (POST /v1/conversions, whose signature
service/api/public/payment_webhook.py checks): its bodies become PaymentFacts
(service/domain/payment_facts.py), which service/usecases/apply_payment_fact.py applies.

Bodies (docs/PAYMENTS.md):
- a payment: {"id", "visitor" | "token", "amount", "currency", "frequency"?, "subscription"?,
  "ts"?}; also a refund when it carries "payment" and a negative amount;
- {"type": "refund", "id", "payment", "amount"?, "refunded_total"?, "currency"?, "ts"?};
- {"type": "reinstatement", "id", "payment", "amount", "currency", "ts"?}: money a refund or
  dispute of that payment took coming back (a won dispute);
- {"type": "renewal", "id", "subscription", "amount", "currency", "ts"?};
- {"type": "cancellation", "id", "subscription", "ts"?}.

Idempotent by "id": a retry after success changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.errors import ValidationFailed
from service.domain.experiment import Frequency
from service.domain.instants import InstantInvalid, parse_instant
from service.domain.money import MoneyError, to_minor
from service.domain.payment_facts import ID_PATTERN, FactKind, PaymentFact
from service.schemas.events import EVENT_ID
from service.usecases.apply_payment_fact import FactStatus, apply_payment_fact
from service.wiring import Services

_ID = re.compile(ID_PATTERN)
_FIELDS = {
    FactKind.payment: {"id", "visitor", "token", "amount", "currency", "frequency", "ts"}
    | {"subscription", "payment", "type"},
    FactKind.refund: {"type", "id", "payment", "amount", "refunded_total", "currency", "ts"},
    FactKind.reinstatement: {"type", "id", "payment", "amount", "currency", "ts"},
    FactKind.renewal: {"type", "id", "subscription", "amount", "currency", "ts"},
    FactKind.cancellation: {"type", "id", "subscription", "ts"},
}
# The bodies this webhook takes, by "type" (trials and links come from Stripe only).
_TYPES = tuple(kind.value for kind in _FIELDS)


@dataclass(frozen=True, slots=True)
class PaymentReceived:
    payment: str
    duplicate: bool
    # {"experiment": key, "variant": key} per experiment credited
    credited: list[dict[str, str]]
    status: FactStatus = "applied"

    def as_dict(self) -> dict[str, Any]:
        return {
            "payment": self.payment,
            "duplicate": self.duplicate,
            "credited": self.credited,
            "status": self.status,
        }


def receive_payment(svc: Services, body: object) -> PaymentReceived:
    """body: what the payment side sent (parsed JSON, its signature checked). Raises
    ValidationFailed naming every bad field, or Unavailable."""
    fact = parse_fact(body, svc, svc.clock())
    applied = apply_payment_fact(svc, fact)
    return PaymentReceived(
        fact.fact_id, applied.status == "duplicate", applied.credited, applied.status
    )


def parse_fact(body: object, svc: Services, now: datetime) -> PaymentFact:
    if not isinstance(body, dict):
        raise ValidationFailed({"$": "must be an object"}, "the body must be an object")
    errors: dict[str, str] = {}
    kind = _kind(body, errors)
    errors.update({name: "unknown field" for name in body if name not in _FIELDS[kind]})
    fact_id = _id(body, "id", errors, "required: this fact's id (the payment's, refund's…)")
    ts = now
    if body.get("ts") is not None:
        try:
            ts = min(parse_instant(body["ts"]), now)
        except InstantInvalid as exc:
            errors["ts"] = str(exc)
    currency = body.get("currency")
    if currency is not None and not isinstance(currency, str):
        errors["currency"] = "an ISO 4217 code such as USD"
        currency = None
    fields: dict[str, Any] = {}
    if kind is FactKind.payment:
        fields = _payment(body, svc, currency, errors)
    elif kind is FactKind.refund:
        fields = _refund(body, svc, currency, errors)
    elif kind is FactKind.reinstatement:
        fields = {
            "refers_to": (_id(body, "payment", errors, "required: the disputed payment's id"),)
        }
        fields |= _amount(body, svc, currency, errors, "amount", required=True)
        if fields.get("amount_minor") == 0:
            errors["amount"] = "must be above 0: the amount that came back"
    else:
        series = _id(body, "subscription", errors, "required: the recurring series' id")
        fields = {"refers_to": (series,)}
        if kind is FactKind.renewal:
            fields |= {"names": (fact_id,), "subscription": series}
            fields |= _amount(body, svc, currency, errors, "amount", required=True)
    if errors:
        raise ValidationFailed(errors, "the payment is invalid")
    return PaymentFact(fact_id=fact_id, kind=kind, ts=ts, currency=currency, **fields)


def _kind(body: dict[str, Any], errors: dict[str, str]) -> FactKind:
    claimed = body.get("type", "payment")
    if claimed not in _TYPES:
        errors["type"] = "must be one of " + ", ".join(_TYPES)
        return FactKind.payment
    amount = body.get("amount")
    negative = isinstance(amount, int | float) and not isinstance(amount, bool) and amount < 0
    if claimed == "payment" and "payment" in body and negative:
        return FactKind.refund  # the negative entry of a refund
    return FactKind(claimed)


def _payment(
    body: dict[str, Any], svc: Services, currency: str | None, errors: dict[str, str]
) -> dict[str, Any]:
    if "payment" in body:
        errors["payment"] = "only a refund (a negative amount or type refund) names a payment"
    fields: dict[str, Any] = {"names": (body.get("id"),)}
    visitor, token = body.get("visitor"), body.get("token")
    if isinstance(visitor, str) and EVENT_ID.fullmatch(visitor):
        fields["visitor"] = visitor
    elif isinstance(token, str) and token:
        fields["token"] = token  # verified when applied
    else:
        errors["visitor"] = "required: the visitor id (or the decision token as token)"
    claimed = body.get("frequency", "one_off")
    if isinstance(claimed, str) and claimed in Frequency._value2member_map_:
        fields["frequency"] = Frequency(claimed)
    else:
        errors["frequency"] = "must be one of " + ", ".join(f.value for f in Frequency)
    if body.get("subscription") is not None:
        fields["subscription"] = _id(body, "subscription", errors, "the recurring series' id")
    return fields | _amount(body, svc, currency, errors, "amount", required=True)


def _refund(
    body: dict[str, Any], svc: Services, currency: str | None, errors: dict[str, str]
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "refers_to": (_id(body, "payment", errors, "required: the refunded payment's id"),)
    }
    if body.get("amount") is None and body.get("refunded_total") is None:
        errors["amount"] = "required: the amount refunded (or refunded_total, all so far)"
        return fields
    if body.get("amount") is not None and body.get("refunded_total") is not None:
        # Which one to apply would be a guess, and the wrong one takes back money twice.
        errors["refunded_total"] = "give amount (this refund) or refunded_total, not both"
        return fields
    if currency is None:
        errors["currency"] = "required: an ISO 4217 code such as USD"
        return fields
    if body.get("amount") is not None:
        fields |= _amount(body, svc, currency, errors, "amount", required=True, negative=True)
    if body.get("refunded_total") is not None:
        total = _amount(body, svc, currency, errors, "refunded_total", required=True)
        fields["refunded_total_minor"] = total.get("amount_minor", 0)
    return fields


def _amount(
    body: dict[str, Any],
    svc: Services,
    currency: str | None,
    errors: dict[str, str],
    name: str,
    *,
    required: bool,
    negative: bool = False,
) -> dict[str, Any]:
    amount = body.get(name)
    if currency is None:
        errors["currency"] = "required: an ISO 4217 code such as USD"
        return {}
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        if required:
            errors[name] = "required: the amount in major units, such as 10.0"
        return {}
    if negative:
        amount = abs(amount)
    try:
        return {"amount_minor": to_minor(amount, currency, svc.settings.currency_rates)}
    except MoneyError as exc:
        errors["currency" if "currency" in str(exc) else name] = str(exc)
        return {}


def _id(body: dict[str, Any], name: str, errors: dict[str, str], need: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        errors[name] = f"{need}, 1 to 100 of A-Z a-z 0-9 _ . : -"
        return ""
    return value
