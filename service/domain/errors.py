"""Errors the domain raises; the web layer turns each into one kind of HTTP response."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """Base of every error that means "the request broke a rule", never "the service broke"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """The document broke one or more rules; `fields` maps each field path to the reason."""

    def __init__(
        self, fields: dict[str, str], message: str = "the experiment document is invalid"
    ) -> None:
        super().__init__(message)
        self.fields = dict(fields)


class TransitionNotAllowed(DomainError):
    """A lifecycle action was asked for from a status that does not allow it."""

    def __init__(self, status: str, action: str, allowed: Sequence[str]) -> None:
        """allowed: the actions the status does allow (lifecycle.allowed_actions)."""
        said = ", ".join(allowed) or "nothing"
        super().__init__(
            f"cannot {action} an experiment that is {status}; allowed from {status}: {said}"
        )
        self.status = status
        self.action = action


class EditNotAllowed(DomainError):
    """The whole experiment is read-only in its current status (stopped or archived)."""


class InvalidRequest(DomainError):
    """The request itself is malformed (a parameter, a QA link, an id), before any document
    rule applies; `fields` maps each bad parameter to the reason."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class RateLimited(DomainError):
    """The client's address is over its request rate; it may try again after `retry_after`
    seconds."""

    def __init__(
        self,
        retry_after: int,
        message: str = "too many requests from this address; slow down",
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.fields = dict(fields or {})


class NotFound(DomainError):
    """The request names something that does not exist (any more)."""


class Conflict(DomainError):
    """The change would clash with what is stored, such as a name another one has taken."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})
