"""Create and edit experiments: the form, variant add/remove, and the live banner preview."""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard import conflict_warnings
from service.dashboard.auth import login_required
from service.dashboard.editor_labels import CHOICE_HELP, OPTION_LABELS, TARGETING_INPUTS
from service.dashboard.experiment_form import (
    CHOICES,
    MAX_VARIANTS,
    FormState,
    from_document,
    from_form,
    place_errors,
    to_document,
    variant_document,
)
from service.dashboard.form_values import whole_number
from service.dashboard.starter import starter_document, starter_variant
from service.domain.banner_render import render_content
from service.domain.errors import EditNotAllowed, ValidationFailed
from service.domain.experiment import Device, Placement, Status
from service.domain.page_context import PageContext
from service.domain.placement_order import TIE_BREAK
from service.domain.roles import Role
from service.schemas.banner import parse_banner
from service.schemas.experiment import parse_experiment
from service.store.sql.experiments_repo import ExperimentExists, StaleRevision, StoredExperiment
from service.usecases import change_experiment as changes
from service.web import error_body, services

# Page context the preview fills placeholders with: the copy reads as a reader would see it.
_PREVIEW_CONTEXT = PageContext(
    visitor="dashboard-preview",
    placement=Placement.article_end,
    device=Device.desktop,
    country="US",
    country_name="the United States",
    article_views=12,
)


def load(key: str) -> StoredExperiment:
    stored = services().experiments.get(key)
    if stored is None:
        abort(404, f"There is no experiment with key {key!r}.")
    return stored


def register(bp: Blueprint) -> None:
    @bp.route("/experiments/new", methods=["GET", "POST"])
    @login_required(Role.editor)
    def new_experiment() -> str | BaseResponse | tuple[str, int]:
        cta_url = f"{services().settings.public_url}/demo/donate"
        if request.method == "GET":
            return render_editor(from_document(starter_document(cta_url)), stored=None)
        state = from_form(request.form)
        if _apply_variant_op(state, cta_url):
            return render_editor(state, stored=None)
        try:
            experiment = parse_experiment(
                to_document(state, status="draft"),
                webhook_allow=changes.webhook_allow(services()),
            )
            changes.create(services(), experiment, g.actor)
        except ValidationFailed as exc:
            place_errors(state, exc.fields)
            return render_editor(state, stored=None), 422
        except ExperimentExists:
            state.errors["key"] = "already taken by another experiment"
            return render_editor(state, stored=None), 409
        flash(f"Created draft {experiment.key}. Start it when the banners look right.")
        return redirect(url_for("dashboard.results", key=experiment.key))

    @bp.route("/experiments/<experiment_key:key>/edit", methods=["GET", "POST"])
    @login_required(Role.editor)
    def edit_experiment(key: str) -> str | BaseResponse | tuple[str, int]:
        stored = load(key)
        cta_url = f"{services().settings.public_url}/demo/donate"
        if request.method == "GET":
            return render_editor(from_document(stored.experiment.to_document()), stored=stored)
        state = from_form(request.form)
        revision = whole_number(request.form.get("revision"))
        if _apply_variant_op(state, cta_url):
            return render_editor(state, stored=stored, revision=revision)
        doc = to_document(state, key=key, status=str(stored.experiment.status))
        try:
            saved = changes.update(
                services(), stored, doc, actor=g.actor, expected_revision=revision
            )
        except ValidationFailed as exc:
            place_errors(state, exc.fields)
            return render_editor(state, stored=stored, revision=revision), 422
        except EditNotAllowed as exc:
            state.other_errors["status"] = exc.message
            return render_editor(state, stored=stored, revision=revision), 409
        except StaleRevision as exc:
            # Keep the editor's work: say what happened and let a second save decide.
            state.other_errors["revision"] = (
                f"Someone saved revision {exc.current} while you were editing. Your changes "
                "are still below; check the history, then save again to replace theirs."
            )
            return render_editor(state, stored=stored, revision=exc.current), 409
        flash(f"Saved revision {saved.revision}.")
        return redirect(url_for("dashboard.results", key=key))

    @bp.post("/banner-preview")
    @login_required(Role.editor)
    def banner_preview() -> Any:
        """The banner a variant's fields describe, rendered by the snippet in the editor."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return jsonify(error_body("bad_request", "send {fields: {...}}")), 400
        values = {str(k): v for k, v in body["fields"].items() if _form_value(v)}
        banner_doc = variant_document(values).get("banner", {})
        errors: dict[str, str] = {}
        banner = parse_banner(banner_doc, errors)
        if banner is None or errors:
            return jsonify({"errors": errors}), 422
        return jsonify(
            {
                "banner": {
                    "experiment": "preview",
                    "variant": str(values.get("key") or "preview"),
                    "token": "",
                    "template": str(banner.template),
                    "content": render_content(banner, _PREVIEW_CONTEXT),
                    "errors": {},
                }
            }
        )


def _apply_variant_op(state: FormState, cta_url: str) -> bool:
    """Add, duplicate or remove a variant (buttons inside the form, so they work without
    JavaScript). True when the request was such an edit, not a save."""
    op = request.form.get("op", "save")
    if op == "add-variant" and len(state.variants) < MAX_VARIANTS:
        fresh = from_document({"variants": [starter_variant("", cta_url)]}).variants[0]
        fresh["weight"] = state.variants[-1].get("weight", "50") if state.variants else "50"
        state.variants.append(fresh)
        state.variant_errors.append({})
        return True
    kind, _, raw = op.partition(":")
    index = whole_number(raw)
    if kind in ("remove-variant", "copy-variant") and index is not None:
        if 0 <= index < len(state.variants):
            if kind == "remove-variant" and len(state.variants) > 1:
                del state.variants[index]
                del state.variant_errors[index]
            elif kind == "copy-variant" and len(state.variants) < MAX_VARIANTS:
                duplicate = copy.deepcopy(state.variants[index])
                duplicate["key"] = ""
                state.variants.insert(index + 1, duplicate)
                state.variant_errors.insert(index + 1, {})
        return True
    return op != "save"


def render_editor(
    state: FormState, *, stored: StoredExperiment | None, revision: int | None = None
) -> str:
    status = stored.experiment.status if stored else Status.draft
    ended = status in (Status.stopped, Status.archived)
    saved_key = stored.experiment.key if stored else None
    conflicts = [] if ended else conflict_warnings.for_form(state, saved_key)
    return render_template(
        "dashboard/editor.html",
        state=state,
        stored=stored,
        revision=revision if revision is not None else (stored.revision if stored else None),
        live=status in (Status.running, Status.paused),
        choices=CHOICES,
        choice_help=CHOICE_HELP,
        option_labels=OPTION_LABELS,
        targeting_inputs=TARGETING_INPUTS,
        max_variants=MAX_VARIANTS,
        conflicts=conflicts,
        tie_break=TIE_BREAK,
    )


def _form_value(value: object) -> bool:
    """A value a form could send: a string, or a list of them (a checkbox group)."""
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, str)
