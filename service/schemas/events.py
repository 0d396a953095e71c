"""POST /v1/events: the batch and each event as the snippet sends it, and the answer.

Each event is validated alone (the batch only as a list), so a bad one is rejected with its
reason while the rest of the batch is kept. Visitor, experiment and variant are not read from
the event: they come from its signed token. The event's type picks its model, so a dismiss
must name its reason and a conversion its money, and no other event may carry a reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from service.domain.events import ClientEvent, EventInvalid, EventType
from service.domain.experiment import DismissReason, Frequency
from service.domain.instants import InstantInvalid, parse_instant
from service.schemas.decision import MAX_VIEWS
from service.schemas.errors import ErrorDetail, absent, error_fields, rule

MAX_EVENTS = 50
EVENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
EVENT_ID = re.compile(EVENT_ID_PATTERN[1:-1])
MAX_AMOUNT = 1_000_000


def _instant(value: object) -> datetime:
    try:
        return parse_instant(value)
    except InstantInvalid as exc:
        raise rule(str(exc)) from None


# A client's point in time: ISO 8601 with a zone, in the range every later step can handle.
Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 40}),
]


def _one_of(kind: Any) -> str:
    return "must be one of " + ", ".join(member.value for member in kind)


# The rule of each field in words, whatever pydantic found wrong with it.
_MESSAGES = {
    "id": "required: 8 to 64 characters of A-Z, a-z, 0-9, _ or - (a UUID)",
    # Renewals, refunds and cancellations come from the payment side only.
    "type": _one_of(
        t
        for t in EventType
        if t
        not in (
            EventType.renewal,
            EventType.refund,
            EventType.reinstatement,
            EventType.cancellation,
        )
    ),
    "token": "required: the token of the decision that showed the banner",
    "reason": "a dismiss needs one of " + ", ".join(r.value for r in DismissReason),
    "amount": f"a conversion needs an amount above 0 and at most {MAX_AMOUNT}",
    "currency": "a conversion needs an ISO 4217 currency code, such as USD",
    "frequency": _one_of(Frequency),
    "article_views": f"on an impression only, a whole number from 0 to {MAX_VIEWS}: the "
    "article_views its decision request sent",
}


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=EVENT_ID_PATTERN, description="A client-made unique id (a UUID).")
    token: str = Field(min_length=1, max_length=200, description="The decision token.")
    ts: Instant | None = None


class _Other(BaseModel):
    """Fields only a conversion reads: tolerated, unread and undocumented on other events."""

    amount: SkipJsonSchema[Any] = None
    currency: SkipJsonSchema[Any] = None
    frequency: SkipJsonSchema[Any] = None


class _NoReason(BaseModel):
    reason: SkipJsonSchema[None] = None

    @field_validator("reason", mode="plain")
    @classmethod
    def _no_reason(cls, value: object) -> None:
        if value is not None:
            raise rule("only a dismiss has a reason")
        return None


class PlainEvent(_Event, _Other, _NoReason):
    type: Literal[EventType.view, EventType.click]


class ImpressionEvent(_Event, _Other, _NoReason):
    type: Literal[EventType.impression]
    article_views: int | None = Field(
        default=None,
        ge=0,
        le=MAX_VIEWS,
        strict=True,
        description="The article_views the decision request sent: the reader's article count "
        "before this banner, which CUPED adjusts results by. Kept from the visitor's first "
        "impression.",
    )


class DismissEvent(_Event, _Other):
    type: Literal[EventType.dismiss]
    reason: DismissReason


class ConversionEvent(_Event, _NoReason):
    type: Literal[EventType.conversion]
    amount: float = Field(gt=0, le=MAX_AMOUNT, strict=True, allow_inf_nan=False)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    frequency: Frequency = Frequency.one_off


Event = Annotated[
    ImpressionEvent | PlainEvent | DismissEvent | ConversionEvent, Field(discriminator="type")
]
_EVENT: TypeAdapter[ImpressionEvent | PlainEvent | DismissEvent | ConversionEvent] = TypeAdapter(
    Event
)
_TAGS = frozenset(t.value for t in EventType)


def parse_client_event(raw: object) -> ClientEvent:
    try:
        event = _EVENT.validate_python(raw)
    except ValidationError as exc:
        fields = error_fields(exc, _MESSAGES, drop=_TAGS)
        if "type" in fields and isinstance(raw, dict):  # unknown: what else is wrong?
            fields = {**_common_errors(raw), "type": _MESSAGES["type"]}
        raise EventInvalid(fields) from None
    if isinstance(event, ConversionEvent):
        return ClientEvent(
            event.id,
            event.type,
            event.token,
            event.ts,
            amount=float(event.amount),
            currency=event.currency,
            frequency=event.frequency,
        )
    if isinstance(event, ImpressionEvent):
        return ClientEvent(
            event.id, event.type, event.token, event.ts, article_views=event.article_views
        )
    reason = event.reason if isinstance(event, DismissEvent) else None
    return ClientEvent(event.id, EventType(event.type), event.token, event.ts, reason)


class _Common(_Event):
    model_config = ConfigDict(extra="ignore")


def _common_errors(raw: dict[Any, Any]) -> dict[str, str]:
    """The fields every event has, checked when its type is unknown, so one answer names them
    all."""
    try:
        _Common.model_validate(raw)
    except ValidationError as exc:
        return error_fields(exc, _MESSAGES)
    return {}


class EventBatch(BaseModel):
    """The body of POST /v1/events; each event is checked on its own (parse_client_event)."""

    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)
    qa: Annotated[str, Field(max_length=300)] = absent(
        "QA session mark: the preview token the page was opened with. While it is valid, the "
        "batch's events work the ledger (snoozes, caps) even from a bot User-Agent, and are "
        "never counted in results. An invalid or expired mark is ignored."
    )


class Rejection(BaseModel):
    index: int
    error: ErrorDetail


class Dropped(BaseModel):
    qa: int = absent()
    bot: int = absent()


class EventsAnswer(BaseModel):
    accepted: int
    duplicates: int
    pending: int = Field(
        description="Events stored straight in SQL because Redis did not answer: each is kept "
        "once, but whether it was the first copy is not known yet, so live counters leave it "
        "out. Resending it later is safe."
    )
    rejected: list[Rejection]
    dropped: Dropped
