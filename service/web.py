"""What the web front ends (service/api, service/dashboard, service/demo) share, so that none
of them imports another: the process's Services for the current request, the error envelope,
and a CSV download."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Response, current_app, send_file

from service.wiring import Services

EXTENSION = "smallfavor"
DECIDER = "smallfavor.decider"
# name -> a check /readyz runs once SQL answers: "ok", or why the process is not ready.
READINESS_CHECKS = "smallfavor.readiness"


def services() -> Services:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def readiness_checks() -> dict[str, Callable[[], str]]:
    checks: dict[str, Callable[[], str]] = current_app.extensions.get(READINESS_CHECKS, {})
    return checks


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The one JSON error envelope: {"error": {"code", "message", "fields": {path: why}}}."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def file_download(path: Path, name: str, media_type: str) -> Response:
    """A file on disk as an attachment, streamed by send_file (never read into memory
    whole), with the media type as given: send_file would add a second charset to
    "text/csv; charset=utf-8"."""
    response = send_file(
        path, mimetype=media_type, as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Content-Type"] = media_type
    return response


def csv_download(filename: str, data: bytes) -> Response:
    # A text/* mimetype is sent as "text/csv; charset=utf-8".
    disposition = f'attachment; filename="{filename}"'
    return Response(data, mimetype="text/csv", headers={"Content-Disposition": disposition})
