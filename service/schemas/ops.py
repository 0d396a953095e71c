"""The operations endpoints' answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from service.schemas.errors import absent


class Status(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = absent()
