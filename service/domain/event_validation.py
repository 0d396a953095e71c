"""Validation of one event as the snippet sends it, before its token is trusted.

Each event is checked alone, so a bad one is rejected with its reason while the rest of the
batch is kept. Visitor, experiment and variant are not read from the event: they come from
its signed token.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from service.domain.events import EventType
from service.domain.experiment import DismissReason, Frequency
from service.domain.instants import InstantInvalid, parse_instant

EVENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_FIELDS = {"id", "type", "token", "ts", "reason", "amount", "currency", "frequency"}
_MAX_AMOUNT = 1_000_000


class EventInvalid(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True, slots=True)
class ClientEvent:
    id: str
    type: EventType
    token: str
    ts: datetime | None
    reason: DismissReason | None = None
    amount: float | None = None
    currency: str | None = None
    frequency: Frequency | None = None


def parse_client_event(raw: object) -> ClientEvent:
    if not isinstance(raw, dict):
        raise EventInvalid({"$": "must be an object"})
    errors: dict[str, str] = {name: "unknown field" for name in raw if name not in _FIELDS}

    event_id = raw.get("id")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        errors["id"] = "required: 8 to 64 characters of A-Z, a-z, 0-9, _ or - (a UUID)"

    # Only strings are looked up: str() of a deeply nested list could exhaust the stack.
    event_type: EventType | None = None
    claimed = raw.get("type")
    if isinstance(claimed, str) and claimed in EventType._value2member_map_:
        event_type = EventType(claimed)
    else:
        errors["type"] = "must be one of " + ", ".join(t.value for t in EventType)

    token = raw.get("token")
    if not isinstance(token, str) or not 1 <= len(token) <= 200:
        errors["token"] = "required: the token of the decision that showed the banner"

    ts = None
    if raw.get("ts") is not None:
        ts = _timestamp(raw["ts"], errors)

    reason = None
    if event_type == EventType.dismiss:
        claimed = raw.get("reason")
        if isinstance(claimed, str) and claimed in DismissReason._value2member_map_:
            reason = DismissReason(claimed)
        else:
            errors["reason"] = "a dismiss needs one of " + ", ".join(r.value for r in DismissReason)
    elif raw.get("reason") is not None:
        errors["reason"] = "only a dismiss has a reason"

    amount = currency = frequency = None
    if event_type == EventType.conversion:
        amount, currency, frequency = _money(raw, errors)

    if errors:
        raise EventInvalid(errors)
    assert event_type is not None and isinstance(event_id, str) and isinstance(token, str)
    return ClientEvent(event_id, event_type, token, ts, reason, amount, currency, frequency)


def _timestamp(value: object, errors: dict[str, str]) -> datetime | None:
    try:
        return parse_instant(value)
    except InstantInvalid as exc:
        errors["ts"] = str(exc)
        return None


def _money(
    raw: dict[str, object], errors: dict[str, str]
) -> tuple[float | None, str | None, Frequency | None]:
    amount = raw.get("amount")
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int | float)
        or not math.isfinite(amount)
        or not 0 < amount <= _MAX_AMOUNT
    ):
        errors["amount"] = f"a conversion needs an amount above 0 and at most {_MAX_AMOUNT}"
        amount = None
    currency = raw.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = "a conversion needs an ISO 4217 currency code, such as USD"
        currency = None
    frequency: Frequency | None = None
    claimed = raw.get("frequency", "one_off")
    if isinstance(claimed, str) and claimed in Frequency._value2member_map_:
        frequency = Frequency(claimed)
    else:
        errors["frequency"] = "must be one of " + ", ".join(f.value for f in Frequency)
    return (float(amount) if amount is not None else None), currency, frequency
