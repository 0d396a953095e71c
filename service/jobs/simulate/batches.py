"""Open event batches shared by the worker threads.

The service limits POST /v1/events per client address per minute, counting requests, not
events, and every simulated reader shares this machine's address: so the events of many
readers travel together, up to 50 a request. They are grouped by country and device because
the service records both from the request's headers (the geo header and the User-Agent), and
a reader's events must carry their own for the report's segments to be right.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from service.jobs.simulate.plan import MAX_EVENTS_PER_VISITOR, Donation, Visit
from service.schemas.events import MAX_EVENTS


@dataclass(frozen=True, slots=True)
class Donor:
    visitor: str
    variant: str
    donation: Donation
    impression: int  # index of the visitor's impression in the batch's events


@dataclass
class Batch:
    country: str | None
    device: str
    events: list[dict[str, Any]] = field(default_factory=list)
    donors: list[Donor] = field(default_factory=list)


class Batcher:
    def __init__(self) -> None:
        self._open: dict[tuple[str | None, str], Batch] = {}
        self._lock = threading.Lock()

    def add(
        self,
        visit: Visit,
        variant: str,
        events: list[dict[str, Any]],
        donation: Donation | None,
    ) -> Batch | None:
        """Adds a shown visitor's events (impression first) to the open batch of their
        country and device; returns that batch, full, for the caller to send, when another
        visitor's events might not fit in it."""
        key = (visit.country, visit.device)
        with self._lock:
            batch = self._open.get(key)
            if batch is None:
                batch = self._open[key] = Batch(visit.country, visit.device)
            if donation is not None:
                batch.donors.append(Donor(visit.visitor, variant, donation, len(batch.events)))
            batch.events.extend(events)
            if len(batch.events) + MAX_EVENTS_PER_VISITOR > MAX_EVENTS:
                return self._open.pop(key)
            return None

    def take_open(self) -> Batch | None:
        """Any open batch, to send at the end of the run."""
        with self._lock:
            return self._open.popitem()[1] if self._open else None
