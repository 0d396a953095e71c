"""Access to the process's Services from inside a request."""

from __future__ import annotations

from flask import current_app

from service.wiring import Services

EXTENSION = "smallfavor"


def services() -> Services:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
