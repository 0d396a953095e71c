"""Scheduled report exports (issue #8): the schedule, its runs' states, and when it fires. Pure.

When a schedule fires, in its own time zone (`timezone`, an IANA name) — the DST rule:

- A local time that does not exist (the hour skipped when clocks go forward) fires at the
  first instant after the gap, as croniter computes it: `30 2 * * *` in Europe/Berlin fires at
  03:00 CEST on the last Sunday of March, and every slot inside the gap (02:00 and 02:30 of
  `*/30 * * * *`) collapses into that single 03:00 run. No day loses its run.
- A local time that happens twice (the hour repeated when clocks go back) fires once, at its
  first occurrence (the earlier instant, `fold=0`): `30 2 * * *` runs at 02:30 CEST and not
  again at 02:30 CET. The rule applies to every expression, so `0 * * * *` does not run in
  the repeated hour either: each local wall-clock time that matches fires at most once.
- Fire times are compared and stored as UTC instants; two slots that land on the same instant
  are one fire time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from croniter import croniter

ALL_RUNNING = "all_running"
# Shown instead of a webhook secret; sent back unchanged in an edit, it keeps the stored one.
REDACTED = "********"
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


class DestinationType(StrEnum):
    directory = "directory"
    webhook = "webhook"
    email = "email"


class RunStatus(StrEnum):
    queued = "queued"  # an ad-hoc run asked for through the API, waiting for a scheduler
    running = "running"  # claimed by one scheduler (claimed_by), attempt `attempts` under way
    retrying = "retrying"  # an attempt failed; the next one is due at next_attempt_at
    succeeded = "succeeded"
    failed = "failed"  # every attempt failed; `error` says why the last one did


@dataclass(frozen=True, slots=True)
class DirectoryDestination:
    path: str  # relative to the server's EXPORT_DIR; validation keeps it inside
    type: Literal["directory"] = "directory"

    def to_document(self, *, redact: bool = False) -> dict[str, Any]:
        return {"type": self.type, "path": self.path}

    @classmethod
    def from_stored(cls, document: dict[str, Any]) -> DirectoryDestination:
        return cls(document["path"])


@dataclass(frozen=True, slots=True)
class WebhookDestination:
    url: str
    secret: str  # the HMAC key of X-SmallFavor-Signature
    type: Literal["webhook"] = "webhook"

    def to_document(self, *, redact: bool = False) -> dict[str, Any]:
        return {"type": self.type, "url": self.url, "secret": REDACTED if redact else self.secret}

    @classmethod
    def from_stored(cls, document: dict[str, Any]) -> WebhookDestination:
        return cls(document["url"], document["secret"])


@dataclass(frozen=True, slots=True)
class EmailDestination:
    to: tuple[str, ...]
    subject: str | None = None  # None: "Small Favor export: <name> (<date>)"
    type: Literal["email"] = "email"

    def to_document(self, *, redact: bool = False) -> dict[str, Any]:
        return {"type": self.type, "to": list(self.to), "subject": self.subject}

    @classmethod
    def from_stored(cls, document: dict[str, Any]) -> EmailDestination:
        return cls(tuple(document["to"]), document.get("subject"))


Destination = DirectoryDestination | WebhookDestination | EmailDestination
# Each kind's config by its document's "type"; deliveries: service/jobs/exports/destinations/.
DESTINATION_KINDS: dict[str, type[Destination]] = {
    DestinationType.directory: DirectoryDestination,
    DestinationType.webhook: WebhookDestination,
    DestinationType.email: EmailDestination,
}


def stored_destination(document: dict[str, Any]) -> Destination:
    """A stored destination document, trusted (validated when saved); one from before the
    type was stored is a directory."""
    return DESTINATION_KINDS.get(document.get("type", ""), DirectoryDestination).from_stored(
        document
    )


@dataclass(frozen=True, slots=True)
class ExportSchedule:
    name: str
    cron: str
    timezone: str
    experiments: tuple[str, ...] | None  # None: every experiment running at run time
    format: ExportFormat
    destination: Destination
    enabled: bool = True
    catch_up: bool = True  # after downtime, run every missed fire time (else only the latest)

    def to_document(self, *, redact: bool = False) -> dict[str, Any]:
        return {
            "name": self.name,
            "cron": self.cron,
            "timezone": self.timezone,
            "experiments": ALL_RUNNING if self.experiments is None else list(self.experiments),
            "format": str(self.format),
            "destination": self.destination.to_document(redact=redact),
            "enabled": self.enabled,
            "catch_up": self.catch_up,
        }

    def next_fire_times(self, now: datetime, count: int = 1) -> list[datetime]:
        """The next `count` fire times strictly after `now`, as UTC instants."""
        return next_fire_times(self.cron, self.timezone, now, count)

    def due_fire_times(self, *, anchor: datetime, now: datetime, limit: int) -> list[datetime]:
        """Fire times in (anchor, now], oldest first, that a scheduler should run now.

        `anchor` is the later of the last claimed fire time and the schedule's last change,
        so a new, edited or re-enabled schedule does not fire for times before it existed.
        Without catch_up only the latest missed fire time runs; with it, up to `limit` of
        the latest (a bound, so a minutely schedule after a week's downtime cannot flood).
        """
        return fire_times_between(
            self.cron, self.timezone, anchor, now, limit=limit if self.catch_up else 1
        )


def next_fire_times(cron: str, timezone: str, now: datetime, count: int) -> list[datetime]:
    return [
        t for t, _ in zip(_fires(cron, timezone, now, forward=True), range(count), strict=False)
    ]


def fire_times_between(
    cron: str, timezone: str, after: datetime, until: datetime, *, limit: int
) -> list[datetime]:
    """The latest `limit` fire times f with after < f <= until, oldest first."""
    found: list[datetime] = []
    # croniter's get_prev is strictly before its start; a second later includes `until`.
    for fire in _fires(cron, timezone, until + timedelta(seconds=1), forward=False):
        if fire <= after or len(found) >= limit:
            break
        if fire <= until:
            found.append(fire)
    return found[::-1]


def retry_delay(attempt: int, base_seconds: float) -> timedelta:
    """Exponential backoff after failed attempt number `attempt` (1, 2, …): base, 2 base,
    4 base …, capped at six hours so a long outage still gets retried the same day."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempt - 1, 0), 6 * 3600))


def _fires(cron: str, timezone: str, start: datetime, *, forward: bool) -> Iterator[datetime]:
    tz = ZoneInfo(timezone)
    iterator = croniter(cron, start.astimezone(tz))
    last: datetime | None = None
    while True:
        local = iterator.get_next(datetime) if forward else iterator.get_prev(datetime)
        instant = local.astimezone(UTC)
        if instant == last or _second_occurrence(local, tz):
            continue
        last = instant
        yield instant


def _second_occurrence(local: datetime, tz: ZoneInfo) -> bool:
    """True for the repeated copy of an ambiguous wall-clock time (clocks went back): the
    same wall time read as its first occurrence (fold=0) is a different instant."""
    wall = local.replace(tzinfo=None)
    first = wall.replace(tzinfo=tz, fold=0)
    return first.astimezone(UTC) != local.astimezone(UTC)
