"""POST /v1/conversions: the payment side's webhook bodies and the answer, for the OpenAPI
document (service/usecases/receive_payment.py parses them; docs/PAYMENTS.md explains them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.domain.experiment import Frequency
from service.schemas.events import Instant

PAYMENT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


class Payment(BaseModel):
    """A donation, or the first payment of a recurring one (`subscription` names its series).
    Names the visitor by `visitor` or by the decision `token`. With `payment` set and a
    negative amount it is a refund of that payment instead."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["payment"] = "payment"
    id: str = Field(pattern=PAYMENT_ID_PATTERN)
    visitor: str | None = None
    token: str | None = None
    amount: float
    currency: str
    frequency: Frequency = Frequency.one_off
    subscription: str | None = Field(default=None, pattern=PAYMENT_ID_PATTERN)
    payment: str | None = Field(default=None, pattern=PAYMENT_ID_PATTERN)
    ts: Instant | None = None


class Refund(BaseModel):
    """Money going back (a refund, a dispute) on the payment (or renewal) `payment` names:
    `amount` is this refund alone, `refunded_total` all refunded on it so far (only what
    was not taken back before is applied). Never more than the payment in all."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["refund"]
    id: str = Field(pattern=PAYMENT_ID_PATTERN)
    payment: str = Field(pattern=PAYMENT_ID_PATTERN)
    amount: float | None = Field(default=None, gt=0)
    refunded_total: float | None = Field(default=None, ge=0)
    currency: str
    ts: Instant | None = None


class Reinstatement(BaseModel):
    """Money a refund or dispute of the payment `payment` names took, coming back (a dispute
    the newsroom won): given back to the revenue it was taken from, never more than was
    taken (with nothing taken, it adds nothing)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["reinstatement"]
    id: str = Field(pattern=PAYMENT_ID_PATTERN)
    payment: str = Field(pattern=PAYMENT_ID_PATTERN)
    amount: float = Field(gt=0)
    currency: str
    ts: Instant | None = None


class Renewal(BaseModel):
    """A later payment of the recurring series `subscription` (or the first payment's id)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["renewal"]
    id: str = Field(pattern=PAYMENT_ID_PATTERN)
    subscription: str = Field(pattern=PAYMENT_ID_PATTERN)
    amount: float = Field(gt=0)
    currency: str
    ts: Instant | None = None


class Cancellation(BaseModel):
    """The recurring series `subscription` ended: no more renewals are expected."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["cancellation"]
    id: str = Field(pattern=PAYMENT_ID_PATTERN)
    subscription: str = Field(pattern=PAYMENT_ID_PATTERN)
    ts: Instant | None = None


class Credit(BaseModel):
    experiment: str
    variant: str


class ConversionsAnswer(BaseModel):
    payment: str  # the body's id
    duplicate: bool
    credited: list[Credit]
    # applied | duplicate | held (names a payment not known yet: applied when it arrives) |
    # unattributed (a payment naming no reader, or a fact about one)
    status: Literal["applied", "duplicate", "held", "unattributed"]
