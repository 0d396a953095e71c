"""Access to the process's Services from inside a request."""

from __future__ import annotations

from flask import current_app

from service.api.decide import Decider
from service.wiring import Services

EXTENSION = "smallfavor"
DECIDER = "smallfavor.decider"


def services() -> Services:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def decider() -> Decider:
    return current_app.extensions[DECIDER]  # type: ignore[no-any-return]
