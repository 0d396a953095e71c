"""POST /v1/payments/stripe: the answer to one Stripe event (the body is Stripe's own)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from service.schemas.conversions import Credit


class StripeFact(BaseModel):
    fact: str
    status: Literal["applied", "duplicate", "held", "unattributed"]
    credited: list[Credit]


class StripeAnswer(BaseModel):
    """`status`: applied, duplicate (a replay: nothing changed), held (it refers to a payment not
    known yet and is applied once it arrives), unattributed (a payment with no reader) or
    ignored (an event type Small Favor does not use, or one that moved no money; `note` says
    which)."""

    event: str
    type: str
    status: Literal["applied", "duplicate", "held", "unattributed", "ignored"]
    ignored: bool
    facts: list[StripeFact]
    note: str | None = None
