"""What every export destination is: the Destination protocol, what it is given, how it fails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from service.jobs.exports.files import ExportFile
from service.settings import Settings

ConfigT = TypeVar("ConfigT", contravariant=True)


class DeliveryFailed(Exception):
    """The destination refused or could not be reached; the message is one line."""


class DeliveryRefused(DeliveryFailed):
    """The service may not deliver there (an internal webhook host): nothing was connected
    to, and retrying cannot help, so the run fails at once."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt's files and what a destination may need to send them."""

    files: Sequence[ExportFile]
    run_id: int
    subject: str  # the default e-mail subject
    digest: str  # the plain-language digest of the run (service/jobs/exports/digest.py)
    settings: Settings


class Destination(Protocol[ConfigT]):
    """One kind of place export files go, for the schedule's destination document of type
    `kind` (its config dataclass in service/domain/export_schedule.py)."""

    @property
    def kind(self) -> str: ...

    def deliver(self, config: ConfigT, delivery: Delivery) -> str:
        """Deliver every file or raise DeliveryFailed; returns where they went, for the run
        record."""
        ...
