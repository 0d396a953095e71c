"""The one failure a use case reports that is the service's, not the request's."""

from __future__ import annotations


class Unavailable(Exception):
    """A store the use case cannot do without is away; the client should retry after
    `retry_after` seconds (the web layer answers 503 with Retry-After)."""

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class NotConfigured(Unavailable):
    """A feature the request needs is not set up on this install (a setting is unset): a 503,
    so a sender that retries (Stripe does, for days) succeeds once the operator sets it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=3600)
