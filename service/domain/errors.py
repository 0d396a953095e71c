"""Errors the domain raises; the web layer turns each into one kind of HTTP response."""

from __future__ import annotations


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

    def __init__(self, status: str, action: str) -> None:
        # Imported here because lifecycle imports this module.
        from service.domain.experiment import Status
        from service.domain.lifecycle import allowed_actions

        allowed = ", ".join(allowed_actions(Status(status))) or "nothing"
        super().__init__(
            f"cannot {action} an experiment that is {status}; allowed from {status}: {allowed}"
        )
        self.status = status
        self.action = action


class EditNotAllowed(DomainError):
    """The whole experiment is read-only in its current status (stopped or archived)."""
