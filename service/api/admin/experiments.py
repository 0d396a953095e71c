"""The admin API: experiments and their lifecycle, history, and visitor erasure."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request, url_for

from service.api.admin.auth import current_actor, require_role
from service.api.http import ApiError, json_object
from service.domain.experiment import Status
from service.domain.lifecycle import Action, allowed_actions
from service.domain.roles import Role
from service.schemas.admin import ExperimentResource, parse_ship_request
from service.schemas.experiment import Experiment, parse_experiment
from service.store.sql.experiments_repo import ExperimentExists, StaleRevision, StoredExperiment
from service.usecases import change_experiment as changes
from service.usecases.erase import erase_visitor as erase
from service.web import services

bp = Blueprint("admin", __name__, url_prefix="/v1/admin")

# Fields the API adds to a document when it returns it; a client that PUTs back what it read
# (the usual edit loop) sends them too, and they are not part of the document.
_RESOURCE_FIELDS = ExperimentResource.model_fields.keys() - Experiment.model_fields.keys()


@bp.get("/experiments")
@require_role(Role.viewer)
def list_experiments() -> Response:
    raw = request.args.get("status")
    statuses: list[Status] = []
    if raw:
        try:
            statuses = [Status(part.strip()) for part in raw.split(",")]
        except ValueError:
            allowed = ", ".join(s.value for s in Status)
            raise ApiError(400, "unknown status filter", {"status": f"one of {allowed}"}) from None
    stored = services().experiments.find(statuses)
    return jsonify({"experiments": [_resource(s) for s in stored]})


@bp.post("/experiments")
@require_role(Role.editor)
def create_experiment() -> tuple[Response, int, dict[str, str]]:
    body = json_object()
    experiment = parse_experiment(body, webhook_allow=changes.webhook_allow(services()))
    if experiment.status != Status.draft:
        raise ApiError(
            422,
            "new experiments start as draft",
            {"status": "must be draft; use the start action to run it"},
        )
    try:
        stored = changes.create(services(), experiment, current_actor())
    except ExperimentExists:
        raise ApiError(
            409, f"an experiment with key {experiment.key!r} exists", {"key": "already taken"}
        ) from None
    location = url_for("admin.get_experiment", key=stored.experiment.key)
    return _json(stored), 201, {"Location": location}


@bp.get("/experiments/<experiment_key:key>")
@require_role(Role.viewer)
def get_experiment(key: str) -> Response:
    return _json(load_experiment(key))


@bp.put("/experiments/<experiment_key:key>")
@require_role(Role.editor)
def update_experiment(key: str) -> Response:
    current = load_experiment(key)
    body = json_object()
    for name in _RESOURCE_FIELDS:
        body.pop(name, None)
    # The path names the experiment and the lifecycle actions own the status, so both may be
    # left out of an edit; if sent, check_update refuses a different value.
    body.setdefault("key", key)
    body.setdefault("status", str(current.experiment.status))
    try:
        stored = changes.update(
            services(), current, body, actor=current_actor(), expected_revision=_if_match()
        )
    except StaleRevision as exc:
        raise ApiError(
            412,
            f"the experiment changed since you read it (now revision {exc.current}); "
            "reload and apply your edit again",
        ) from None
    return _json(stored)


@bp.post("/experiments/<experiment_key:key>/<any(start, pause, stop, archive):action>")
@require_role(Role.editor)
def change_status(key: str, action: str) -> Response:
    current = load_experiment(key)
    return _changed(
        lambda actor: changes.apply_action(
            services(), current, Action(action), actor=actor, expected_revision=current.revision
        )
    )


@bp.post("/experiments/<experiment_key:key>/ship")
@require_role(Role.editor)
def ship(key: str) -> Response:
    """End the test: one variant to every eligible reader, but an optional holdout."""
    current = load_experiment(key)
    checked = parse_ship_request(json_object())
    return _changed(
        lambda actor: changes.ship_variant(
            services(),
            current,
            checked.variant,
            checked.holdout,
            actor=actor,
            expected_revision=current.revision,
        )
    )


@bp.post("/experiments/<experiment_key:key>/unship")
@require_role(Role.editor)
def unship(key: str) -> Response:
    """Undo a ship: the experiment returns to the status it was shipped from."""
    current = load_experiment(key)
    return _changed(
        lambda actor: changes.unship_variant(
            services(), current, actor=actor, expected_revision=current.revision
        )
    )


def _changed(change: Callable[[str], StoredExperiment]) -> Response:
    """The experiment after `change` (called with the actor), or a 409 when another change
    came first: the revision read is the one expected."""
    try:
        stored = change(current_actor())
    except StaleRevision:
        raise ApiError(409, "the experiment changed meanwhile; try again") from None
    return _json(stored)


@bp.get("/experiments/<experiment_key:key>/history")
@require_role(Role.viewer)
def history(key: str) -> Response:
    revisions = services().experiments.history(key)
    if revisions is None:
        raise _not_found(key)
    return jsonify(
        {
            "experiment": key,
            "revisions": [
                {
                    "revision": r.revision,
                    "action": r.action,
                    "actor": r.actor,
                    "at": _iso(r.created_at),
                    "changes": r.changes,
                    "document": r.document,
                }
                for r in revisions
            ],
        }
    )


@bp.post("/experiments/<experiment_key:key>/preview-token")
@require_role(Role.editor)
def preview_token(key: str) -> Response:
    """A signed link for QA: shows one variant of the experiment, whatever its status, to
    whoever holds it until it expires; its decisions carry qa=true and never reach results."""
    stored = load_experiment(key)
    body = json_object() if request.get_data() else {}
    experiment = stored.experiment
    variant_key = body.get("variant", experiment.control.key)
    ttl_hours = body.get("ttl_hours", 24)
    errors: dict[str, str] = {}
    if not isinstance(variant_key, str) or experiment.variant(variant_key) is None:
        errors["variant"] = "must be one of " + ", ".join(v.key for v in experiment.variants)
    if isinstance(ttl_hours, bool) or not isinstance(ttl_hours, int) or not 1 <= ttl_hours <= 168:
        errors["ttl_hours"] = "must be a whole number of hours from 1 to 168"
    unknown = set(body) - {"variant", "ttl_hours"}
    errors.update({name: "unknown field" for name in unknown})
    if errors:
        raise ApiError(422, "cannot issue a preview token", errors)
    svc = services()
    expires_at = int(svc.clock().timestamp()) + ttl_hours * 3600
    token = svc.signer.preview(experiment.key, variant_key, expires_at)
    query = urlencode({"preview": token, "placement": str(experiment.placement)})
    return jsonify(
        {
            "experiment": experiment.key,
            "variant": variant_key,
            "token": token,
            "expires_at": _iso(datetime.fromtimestamp(expires_at, UTC)),
            "decision_url": f"{svc.settings.public_url}/v1/decision?{query}&visitor=<visitor>",
        }
    )


@bp.delete("/visitors/<visitor>")
@require_role(Role.admin)
def erase_visitor(visitor: str) -> Response:
    return jsonify({"visitor": visitor, "removed": erase(services(), visitor)})


def load_experiment(key: str) -> StoredExperiment:
    """The stored experiment, or a 404 in the error envelope."""
    stored = services().experiments.get(key)
    if stored is None:
        raise _not_found(key)
    return stored


def _not_found(key: str) -> ApiError:
    return ApiError(404, f"no experiment with key {key!r}")


def _if_match() -> int | None:
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    # At most 9 ASCII digits: a revision fits an INTEGER column, and int() is never handed
    # thousands of digits (it refuses more than 4,300) or another script's digits.
    match = re.fullmatch(r'\s*(?:W/)?"r([0-9]{1,9})"\s*', header)
    if not match:
        raise ApiError(
            400,
            "If-Match must be an ETag from a GET of this experiment",
            {"If-Match": 'expected a value like "r3"'},
        )
    return int(match.group(1))


def _resource(stored: StoredExperiment) -> dict[str, Any]:
    return {
        **stored.experiment.to_document(),
        "revision": stored.revision,
        "created_at": _iso(stored.created_at),
        "updated_at": _iso(stored.updated_at),
        "started_at": _iso(stored.started_at),
        "stopped_at": _iso(stored.stopped_at),
        "allowed_actions": [str(a) for a in allowed_actions(stored.experiment.status)],
    }


def _json(stored: StoredExperiment) -> Response:
    response = jsonify(_resource(stored))
    response.headers["ETag"] = f'"r{stored.revision}"'
    return response


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.isoformat().replace("+00:00", "Z"))
