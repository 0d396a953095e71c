"""POST /v1/reminders: an e-mail reminder sign-up as the snippet sends it, and the answer.

The use case (usecases/reminders.py) checks the body field by field, so that one 422 names
every bad field; these models declare the contract for the document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReminderSignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        max_length=160,
        description="The decision token of the banner whose reminder offer the reader used.",
    )
    email: str = Field(max_length=254, description="The reader's e-mail address.")
    remind_at: datetime = Field(
        description="When to remind, an ISO 8601 instant: at least an hour from now and at "
        "most 366 days ahead (the offer's 365 days plus a day for the reader's time zone)."
    )


class ReminderSignedUp(BaseModel):
    reminder: str = Field(description="The sign-up's id.")
    status: Literal["pending"] = Field(
        description="Always pending: the reader must confirm through the e-mail first."
    )
    snoozed_until: datetime = Field(
        description="The banner's placement is snoozed for this reader until then."
    )
