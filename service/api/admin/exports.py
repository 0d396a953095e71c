"""The admin API of scheduled exports (issue #8, docs/EXPORTS.md): viewers read schedules
and runs, editors create, change, delete and run them (service/usecases/export_schedules.py).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, request, url_for

from service.api.admin.auth import require_role
from service.api.http import ApiError, json_object
from service.domain.roles import Role
from service.usecases import export_files
from service.usecases import export_schedules as schedules
from service.web import file_download, services

bp = Blueprint("exports", __name__, url_prefix="/v1/admin")

MAX_RUNS = 500


@bp.get("/exports")
@require_role(Role.viewer)
def list_exports() -> Response:
    return jsonify({"exports": schedules.schedule_resources(services())})


@bp.post("/exports")
@require_role(Role.editor)
def create_export() -> tuple[Response, int, dict[str, str]]:
    svc = services()
    stored = schedules.create(svc, json_object())
    location = url_for("exports.get_export", schedule_id=stored.id)
    return jsonify(schedules.schedule_resource(svc, stored)), 201, {"Location": location}


@bp.get("/exports/<sql_id:schedule_id>")
@require_role(Role.viewer)
def get_export(schedule_id: int) -> Response:
    svc = services()
    return jsonify(schedules.schedule_resource(svc, schedules.load(svc, schedule_id)))


@bp.put("/exports/<sql_id:schedule_id>")
@require_role(Role.editor)
def update_export(schedule_id: int) -> Response:
    svc = services()
    current = schedules.load(svc, schedule_id)
    stored = schedules.update(svc, current, json_object())
    return jsonify(schedules.schedule_resource(svc, stored))


@bp.delete("/exports/<sql_id:schedule_id>")
@require_role(Role.editor)
def delete_export(schedule_id: int) -> tuple[str, int]:
    if not schedules.delete(services(), schedule_id):
        raise ApiError(404, f"no export schedule with id {schedule_id}")
    return "", 204


@bp.post("/exports/<sql_id:schedule_id>/run")
@require_role(Role.editor)
def run_export(schedule_id: int) -> tuple[Response, int, dict[str, str]]:
    run = schedules.queue_run(services(), schedule_id)
    location = url_for("exports.export_runs", schedule_id=schedule_id)
    return jsonify(schedules.run_resource(run)), 202, {"Location": location}


@bp.get("/exports/<sql_id:schedule_id>/runs")
@require_role(Role.viewer)
def export_runs(schedule_id: int) -> Response:
    svc = services()
    schedules.load(svc, schedule_id)
    raw = request.args.get("limit", "50")
    # ASCII digits only: str.isdigit() is true for "²", which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_RUNS:
        raise ApiError(400, "bad limit", {"limit": f"a whole number from 1 to {MAX_RUNS}"})
    runs = schedules.runs(svc, schedule_id, limit=int(raw))
    return jsonify({"schedule_id": schedule_id, "runs": [schedules.run_resource(r) for r in runs]})


@bp.get("/exports/<sql_id:schedule_id>/runs/<sql_id:run_id>/files/<name>")
@require_role(Role.viewer)
def export_run_file(schedule_id: int, run_id: int, name: str) -> Response:
    """A file a run wrote to a `directory` destination, streamed from disk; 404 (NotFound)
    for a name the run did not record, a file kept elsewhere, or one deleted since."""
    found = export_files.local_file(services(), schedule_id, run_id, name)
    return file_download(found.path, found.file.name, found.file.media_type)
