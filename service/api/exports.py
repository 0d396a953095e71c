"""The admin API of scheduled exports (issue #8, docs/EXPORTS.md).

Viewers read schedules and runs (a webhook's secret is never shown: it reads "********");
editors create, change, delete and run them. An ad-hoc run is queued and executed by the next
scheduler poll, so no web worker waits on a slow webhook or mail relay.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from service.api.auth import require_role
from service.api.context import services
from service.api.errors import ApiError
from service.api.json_body import json_object
from service.domain.errors import ValidationFailed
from service.domain.export_schedule import (
    REDACTED,
    EmailDestination,
    ExportSchedule,
    WebhookDestination,
)
from service.domain.roles import Role
from service.domain.webhook_targets import AllowList
from service.schemas.exports import parse_schedule
from service.store.sql.exports_repo import ExportRepo, ExportRun, ScheduleExists, StoredSchedule

bp = Blueprint("exports", __name__, url_prefix="/v1/admin")

# Fields the API adds to a schedule it returns; a client may PUT back what it read.
_RESOURCE_FIELDS = ("id", "created_at", "updated_at", "next_run_at", "last_run")
MAX_RUNS = 500


@bp.get("/exports")
@require_role(Role.viewer)
def list_exports() -> Response:
    repo = _repo()
    return jsonify({"exports": [schedule_resource(repo, s) for s in repo.find()]})


@bp.post("/exports")
@require_role(Role.editor)
def create_export() -> tuple[Response, int, dict[str, str]]:
    schedule = checked_schedule(json_object(), current=None)
    repo = _repo()
    try:
        stored = repo.create(schedule, services().clock())
    except ScheduleExists:
        raise _name_taken(schedule.name) from None
    location = url_for("exports.get_export", schedule_id=stored.id)
    return jsonify(schedule_resource(repo, stored)), 201, {"Location": location}


@bp.get("/exports/<sql_id:schedule_id>")
@require_role(Role.viewer)
def get_export(schedule_id: int) -> Response:
    repo = _repo()
    return jsonify(schedule_resource(repo, _load(repo, schedule_id)))


@bp.put("/exports/<sql_id:schedule_id>")
@require_role(Role.editor)
def update_export(schedule_id: int) -> Response:
    repo = _repo()
    current = _load(repo, schedule_id)
    schedule = checked_schedule(json_object(), current=current.schedule)
    try:
        stored = repo.update(schedule_id, schedule, services().clock())
    except ScheduleExists:
        raise _name_taken(schedule.name) from None
    if stored is None:  # deleted between the read and the write
        raise _not_found(schedule_id)
    return jsonify(schedule_resource(repo, stored))


@bp.delete("/exports/<sql_id:schedule_id>")
@require_role(Role.editor)
def delete_export(schedule_id: int) -> tuple[str, int]:
    if not _repo().delete(schedule_id):
        raise _not_found(schedule_id)
    return "", 204


@bp.post("/exports/<sql_id:schedule_id>/run")
@require_role(Role.editor)
def run_export(schedule_id: int) -> tuple[Response, int, dict[str, str]]:
    repo = _repo()
    _load(repo, schedule_id)
    run = repo.queue_adhoc(schedule_id, services().clock())
    location = url_for("exports.export_runs", schedule_id=schedule_id)
    return jsonify(run_resource(run)), 202, {"Location": location}


@bp.get("/exports/<sql_id:schedule_id>/runs")
@require_role(Role.viewer)
def export_runs(schedule_id: int) -> Response:
    repo = _repo()
    _load(repo, schedule_id)
    raw = request.args.get("limit", "50")
    # ASCII digits only: str.isdigit() is true for "²", which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_RUNS:
        raise ApiError(
            400, "bad_request", "bad limit", {"limit": f"a whole number from 1 to {MAX_RUNS}"}
        )
    runs = repo.runs(schedule_id, limit=int(raw))
    return jsonify({"schedule_id": schedule_id, "runs": [run_resource(r) for r in runs]})


def _repo() -> ExportRepo:
    return ExportRepo(services().engine)


def _load(repo: ExportRepo, schedule_id: int) -> StoredSchedule:
    stored = repo.get(schedule_id)
    if stored is None:
        raise _not_found(schedule_id)
    return stored


def checked_schedule(body: dict[str, Any], current: ExportSchedule | None) -> ExportSchedule:
    """The schedule a request body describes, checked against this server: its experiments
    exist, e-mail is configured, and a webhook is not internal unless EXPORT_WEBHOOK_ALLOW
    lets it be. Raises ValidationFailed naming every bad field; the dashboard's form goes
    through here too."""
    for name in _RESOURCE_FIELDS:
        body.pop(name, None)
    if current is not None:
        _keep_secret(body, current)
    svc = services()
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


def schedule_resource(repo: ExportRepo, stored: StoredSchedule) -> dict[str, Any]:
    schedule = stored.schedule
    runs = repo.runs(stored.id, limit=1)
    upcoming = schedule.next_fire_times(services().clock()) if schedule.enabled else []
    return {
        "id": stored.id,
        **schedule.to_document(redact=True),
        "created_at": _iso(stored.created_at),
        "updated_at": _iso(stored.updated_at),
        "next_run_at": _iso(upcoming[0]) if upcoming else None,
        "last_run": run_resource(runs[0]) if runs else None,
    }


def run_resource(run: ExportRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "schedule_id": run.schedule_id,
        "fire_time": _iso(run.fire_time),
        "status": str(run.status),
        "attempts": run.attempts,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "next_attempt_at": _iso(run.next_attempt_at),
        "rows": run.rows,
        "bytes": run.bytes,
        "destination": run.destination,
        "error": run.error,
    }


def _not_found(schedule_id: int) -> ApiError:
    return ApiError(404, "not_found", f"no export schedule with id {schedule_id}")


def _name_taken(name: str) -> ApiError:
    return ApiError(409, "conflict", f"an export schedule named {name!r} exists", {"name": "taken"})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
