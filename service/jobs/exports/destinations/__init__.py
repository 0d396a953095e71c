"""Where export files go: one module per kind of destination, registered in DESTINATIONS.

Each delivery either completes or raises DeliveryFailed with a one-line reason, which the run
records; the scheduler retries the whole run. A retried run delivers every file again under
the same names (they carry the run id), so a directory ends up with one copy of each and a
webhook receiver can drop repeats by X-SmallFavor-Export-File.

A new kind: its config dataclass in service/domain/export_schedule.py, its document model in
service/schemas/exports.py (which the dashboard's form reads too), a module here with a
class that satisfies `Destination`, and one entry below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.domain.export_schedule import Destination as DestinationConfig
from service.jobs.exports.destinations.base import (
    Delivery,
    DeliveryFailed,
    DeliveryRefused,
    Destination,
)
from service.jobs.exports.destinations.directory import ToDirectory
from service.jobs.exports.destinations.mail import ByEmail
from service.jobs.exports.destinations.webhook import ToWebhook
from service.jobs.exports.files import ExportFile
from service.settings import Settings

__all__ = [
    "DESTINATIONS",
    "Delivery",
    "DeliveryFailed",
    "DeliveryRefused",
    "Destination",
    "deliver",
]

_KINDS: tuple[Destination[Any], ...] = (ToDirectory(), ToWebhook(), ByEmail())
DESTINATIONS: Mapping[str, Destination[Any]] = {d.kind: d for d in _KINDS}


def deliver(
    destination: DestinationConfig,
    files: Sequence[ExportFile],
    *,
    run_id: int,
    subject: str,
    digest: str,
    settings: Settings,
) -> str:
    """Deliver the files; returns where they went, for the run record."""
    return DESTINATIONS[destination.type].deliver(
        destination, Delivery(files, run_id, subject, digest, settings)
    )
