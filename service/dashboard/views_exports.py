"""Scheduled exports in the dashboard: the schedules with their next and last runs, a form
to create and edit them (checked by the same code as the admin API), run now, run history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, get_args

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from pydantic import BaseModel
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard.auth import login_required
from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.domain.export_schedule import (
    ALL_RUNNING,
    DestinationType,
    ExportFormat,
)
from service.domain.roles import Role
from service.schemas.exports import DestinationModels
from service.store.sql.exports_repo import StoredSchedule
from service.usecases import export_files
from service.usecases import export_schedules as schedules
from service.web import file_download, services

COMMON_ZONES = (
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "Australia/Sydney", "Asia/Tokyo",
)  # fmt: skip
_SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class DestinationInput:
    """One input of the form's destination section, for destinations of type `kind`."""

    kind: str
    key: str  # the destination document's key; the input is named destination.<key>
    label: str
    help: str = ""
    attrs: Mapping[str, object] = field(default_factory=dict)
    read: Callable[[str], Any] = str.strip  # form text -> document value
    show: Callable[[Any], str] = lambda value: value or ""  # document value -> form text


def _destination_inputs(model: type[BaseModel]) -> Iterator[DestinationInput]:
    """The inputs of one destination kind, from its document model (service/schemas/exports.py):
    label and help are each field's title and description, and its JSON Schema says how the
    form reads it. A list is typed separated by commas, a secret ("password") taken as typed."""
    schema = model.model_json_schema()
    kind = schema["properties"].pop("type")
    for key, prop in schema["properties"].items():
        optional = key not in schema["required"]
        label = f"{prop['title']} (for {kind['title']}{', optional' if optional else ''})"
        spec = DestinationInput(kind["const"], key, label, prop.get("description", ""))
        if prop.get("format") == "uri":
            spec = replace(spec, attrs={"type": "url"})
        elif prop.get("format") == "password":
            spec = replace(spec, attrs={"autocomplete": "off"}, read=lambda raw: raw)
        elif prop.get("type") == "array":
            spec = replace(
                spec,
                read=lambda raw: [item for item in _SPLIT.split(raw) if item],
                show=lambda value: ", ".join(value or []),
            )
        elif optional:
            spec = replace(spec, read=lambda raw: raw.strip() or None)
        yield spec


DESTINATION_INPUTS = tuple(
    spec for model in get_args(DestinationModels) for spec in _destination_inputs(model)
)


def _load(schedule_id: int) -> StoredSchedule:
    try:
        return schedules.load(services(), schedule_id)
    except NotFound:
        abort(404, f"There is no export schedule {schedule_id}.")


def form_document(form: Any) -> dict[str, Any]:
    """The schedule document a submitted form describes."""
    kind = form.get("destination.type", "directory")
    destination: dict[str, Any] = {"type": kind}
    for spec in DESTINATION_INPUTS:
        if spec.kind == kind:
            destination[spec.key] = spec.read(form.get(f"destination.{spec.key}", ""))
    chosen = list(form.getlist("experiments"))
    return {
        "name": form.get("name", "").strip(),
        "cron": " ".join(form.get("cron", "").split()),
        "timezone": form.get("timezone", "").strip() or "UTC",
        "experiments": ALL_RUNNING if form.get("scope") != "chosen" else chosen,
        "format": form.get("format", "csv"),
        "destination": destination,
        "enabled": bool(form.get("enabled")),
        "catch_up": bool(form.get("catch_up")),
    }


def _editor(doc: dict[str, Any], errors: dict[str, str], stored: StoredSchedule | None) -> str:
    experiments = [s.experiment for s in services().experiments.find()]
    return render_template(
        "dashboard/export_form.html",
        doc=doc,
        errors=errors,
        stored=stored,
        experiments=experiments,
        formats=[f.value for f in ExportFormat],
        kinds=[k.value for k in DestinationType],
        destination_inputs=DESTINATION_INPUTS,
        zones=COMMON_ZONES,
        all_running=ALL_RUNNING,
        smtp=bool(services().settings.smtp_host),
    )


def _errors_by_field(fields: dict[str, str]) -> dict[str, str]:
    # experiments[2] → experiments; the form has one control per list.
    out: dict[str, str] = {}
    for path, message in fields.items():
        out.setdefault(re.sub(r"\[\d+\]$", "", path) or "schedule", message)
    return out


def register(bp: Blueprint) -> None:
    @bp.get("/exports")
    @login_required()
    def exports() -> str:
        rows = schedules.schedule_resources(services())
        return render_template("dashboard/exports.html", rows=rows)

    @bp.route("/exports/new", methods=["GET", "POST"])
    @login_required(Role.editor)
    def new_export() -> str | BaseResponse | tuple[str, int]:
        if request.method == "GET":
            blank = {
                "name": "",
                "cron": "0 6 * * 1",
                "timezone": "UTC",
                "experiments": ALL_RUNNING,
                "format": "csv",
                "destination": {"type": "directory", "path": "weekly"},
                "enabled": True,
                "catch_up": True,
            }
            return _editor(blank, {}, None)
        doc = form_document(request.form)
        try:
            stored = schedules.create(services(), dict(doc))
        except ValidationFailed as exc:
            return _editor(doc, _errors_by_field(exc.fields), None), 422
        except Conflict:
            return _editor(doc, {"name": "another schedule has this name"}, None), 409
        flash(f"Created the export schedule {stored.schedule.name}.")
        return redirect(url_for("dashboard.export_runs", schedule_id=stored.id))

    @bp.route("/exports/<sql_id:schedule_id>/edit", methods=["GET", "POST"])
    @login_required(Role.editor)
    def edit_export(schedule_id: int) -> str | BaseResponse | tuple[str, int]:
        stored = _load(schedule_id)
        if request.method == "GET":
            return _editor(stored.schedule.to_document(redact=True), {}, stored)
        doc = form_document(request.form)
        try:
            saved = schedules.update(services(), stored, dict(doc))
        except ValidationFailed as exc:
            return _editor(doc, _errors_by_field(exc.fields), stored), 422
        except Conflict:
            return _editor(doc, {"name": "another schedule has this name"}, stored), 409
        except NotFound:
            abort(404, "The schedule was deleted meanwhile.")
        flash(f"Saved {saved.schedule.name}.")
        return redirect(url_for("dashboard.export_runs", schedule_id=schedule_id))

    @bp.get("/exports/<sql_id:schedule_id>")
    @login_required()
    def export_runs(schedule_id: int) -> str:
        stored = _load(schedule_id)
        svc = services()
        upcoming = (
            stored.schedule.next_fire_times(svc.clock(), count=3) if stored.schedule.enabled else []
        )
        return render_template(
            "dashboard/export_runs.html",
            stored=stored,
            resource=schedules.schedule_resource(svc, stored),
            runs=schedules.runs(svc, schedule_id, limit=50),
            upcoming=upcoming,
            is_local=export_files.is_local,
        )

    # Viewers may download: they read results, and an export is the results in a file.
    @bp.get("/exports/<sql_id:schedule_id>/runs/<sql_id:run_id>/files/<name>")
    @login_required()
    def export_file(schedule_id: int, run_id: int, name: str) -> BaseResponse:
        try:
            found = export_files.local_file(services(), schedule_id, run_id, name)
        except NotFound as exc:  # FileGone too: its message says the file is gone
            abort(404, exc.message[0].upper() + exc.message[1:] + ".")
        return file_download(found.path, found.file.name, found.file.media_type)

    @bp.post("/exports/<sql_id:schedule_id>/run")
    @login_required(Role.editor)
    def run_export_now(schedule_id: int) -> BaseResponse:
        try:
            run = schedules.queue_run(services(), schedule_id)
        except NotFound:
            abort(404, f"There is no export schedule {schedule_id}.")
        flash(f"Run {run.id} is queued; the scheduler picks it up within its poll interval.")
        return redirect(url_for("dashboard.export_runs", schedule_id=schedule_id))

    @bp.route("/exports/<sql_id:schedule_id>/delete", methods=["GET", "POST"])
    @login_required(Role.editor)
    def delete_export(schedule_id: int) -> str | BaseResponse:
        stored = _load(schedule_id)
        if request.method == "GET":
            return render_template("dashboard/export_delete.html", stored=stored)
        schedules.delete(services(), schedule_id)
        flash(f"Deleted the export schedule {stored.schedule.name} and its run records.")
        return redirect(url_for("dashboard.exports"))
