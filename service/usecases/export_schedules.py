"""Scheduled exports (issue #8, docs/EXPORTS.md): creating, changing, deleting and running a
schedule, the same way from the admin API and from the dashboard, and the schedule as both
show it.

A webhook's secret is never shown: it reads "********". An ad-hoc run is queued and executed
by the next scheduler poll, so no web worker waits on a slow webhook or mail relay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.domain.export_schedule import (
    REDACTED,
    EmailDestination,
    ExportSchedule,
    WebhookDestination,
)
from service.domain.webhook_targets import AllowList
from service.schemas.admin import ExportRun as RunResource
from service.schemas.exports import parse_schedule
from service.store.sql.exports_repo import ExportRepo, ExportRun, ScheduleExists, StoredSchedule
from service.wiring import Services

# Fields a schedule's resource adds; a client may PUT back what it read.
_RESOURCE_FIELDS = ("id", "created_at", "updated_at", "next_run_at", "last_run")


def load(svc: Services, schedule_id: int) -> StoredSchedule:
    stored = ExportRepo(svc.engine).get(schedule_id)
    if stored is None:
        raise _not_found(schedule_id)
    return stored


def create(svc: Services, body: dict[str, Any]) -> StoredSchedule:
    """Raises ValidationFailed naming every bad field, or Conflict when the name is taken."""
    schedule = checked_schedule(svc, body, current=None)
    try:
        return ExportRepo(svc.engine).create(schedule, svc.clock())
    except ScheduleExists:
        raise _name_taken(schedule.name) from None


def update(svc: Services, current: StoredSchedule, body: dict[str, Any]) -> StoredSchedule:
    """As create, and NotFound when the schedule was deleted since `current` was read."""
    schedule = checked_schedule(svc, body, current=current.schedule)
    try:
        stored = ExportRepo(svc.engine).update(current.id, schedule, svc.clock())
    except ScheduleExists:
        raise _name_taken(schedule.name) from None
    if stored is None:
        raise _not_found(current.id)
    return stored


def delete(svc: Services, schedule_id: int) -> bool:
    """False when there was no such schedule."""
    return ExportRepo(svc.engine).delete(schedule_id)


def queue_run(svc: Services, schedule_id: int) -> ExportRun:
    load(svc, schedule_id)
    return ExportRepo(svc.engine).queue_adhoc(schedule_id, svc.clock())


def runs(svc: Services, schedule_id: int, limit: int) -> list[ExportRun]:
    load(svc, schedule_id)
    return ExportRepo(svc.engine).runs(schedule_id, limit=limit)


def checked_schedule(
    svc: Services, body: dict[str, Any], current: ExportSchedule | None
) -> ExportSchedule:
    """The schedule a request body describes, checked against this server: its experiments
    exist, e-mail is configured, and a webhook is not internal unless EXPORT_WEBHOOK_ALLOW
    lets it be. Raises ValidationFailed naming every bad field."""
    for name in _RESOURCE_FIELDS:
        body.pop(name, None)
    if current is not None:
        _keep_secret(body, current)
    # Webhook URLs: no internal address unless the operator allows it (SSRF, docs/EXPORTS.md).
    allow = AllowList.parse(svc.settings.export_webhook_allow)
    try:
        schedule = parse_schedule(body, webhook_allow=allow)
    except ValidationFailed as exc:
        destination = body.get("destination")
        if isinstance(destination, dict) and destination.get("secret") == REDACTED:
            exc.fields["destination.secret"] = (
                "send the secret itself: the stored one is kept only while the URL stays the same"
            )
        raise
    errors: dict[str, str] = {}
    for index, key in enumerate(schedule.experiments or ()):
        if svc.experiments.get(key) is None:
            errors[f"experiments[{index}]"] = f"no experiment with key {key!r}"
    if isinstance(schedule.destination, EmailDestination) and not svc.settings.smtp_host:
        errors["destination.type"] = "e-mail is not configured on this server (SMTP_HOST)"
    if errors:
        raise ValidationFailed(errors, "the export schedule is invalid")
    return schedule


def _keep_secret(body: dict[str, Any], current: ExportSchedule) -> None:
    """An edit that sends back the redacted secret (or none) keeps the stored one, as long
    as the webhook URL stays the same: a secret never follows the files to a new receiver."""
    destination = body.get("destination")
    old = current.destination
    if (
        isinstance(destination, dict)
        and isinstance(old, WebhookDestination)
        and destination.get("type") == "webhook"
        and destination.get("url") == old.url
        and destination.get("secret", REDACTED) == REDACTED
    ):
        destination["secret"] = old.secret


def schedule_resources(svc: Services) -> list[dict[str, Any]]:
    return [schedule_resource(svc, stored) for stored in ExportRepo(svc.engine).find()]


def schedule_resource(svc: Services, stored: StoredSchedule) -> dict[str, Any]:
    schedule = stored.schedule
    last = ExportRepo(svc.engine).runs(stored.id, limit=1)
    upcoming = schedule.next_fire_times(svc.clock()) if schedule.enabled else []
    return {
        "id": stored.id,
        **schedule.to_document(redact=True),
        "created_at": _iso(stored.created_at),
        "updated_at": _iso(stored.updated_at),
        "next_run_at": _iso(upcoming[0]) if upcoming else None,
        "last_run": run_resource(last[0]) if last else None,
    }


def run_resource(run: ExportRun) -> dict[str, Any]:
    return RunResource.model_validate(run, from_attributes=True).model_dump(mode="json")


def _not_found(schedule_id: int) -> NotFound:
    return NotFound(f"no export schedule with id {schedule_id}")


def _name_taken(name: str) -> Conflict:
    return Conflict(f"an export schedule named {name!r} exists", {"name": "taken"})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
