"""POST /v1/conversions: the payment side's webhook body and the answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.domain.experiment import Frequency
from service.schemas.events import Instant

PAYMENT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


class Payment(BaseModel):
    """Names the visitor by `visitor` or by the decision `token`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PAYMENT_ID_PATTERN)
    visitor: str | None = None
    token: str | None = None
    amount: float
    currency: str
    frequency: Frequency = Frequency.one_off
    ts: Instant | None = None


class Credit(BaseModel):
    experiment: str
    variant: str


class ConversionsAnswer(BaseModel):
    payment: str
    duplicate: bool
    credited: list[Credit]
