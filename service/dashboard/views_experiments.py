"""The experiment list, lifecycle actions with confirmation, history and QA preview links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard import conflict_warnings
from service.dashboard.auth import login_required
from service.dashboard.form_values import whole_number
from service.dashboard.overview import overview
from service.dashboard.views_editor import load
from service.domain.errors import TransitionNotAllowed, ValidationFailed
from service.domain.experiment import Experiment, Status
from service.domain.lifecycle import Action, allowed_actions
from service.domain.placement_conflicts import Conflict, Contender, conflicts
from service.domain.placement_order import ON_PLACEMENT
from service.domain.revisions import diff_documents
from service.domain.roles import Role
from service.store.sql.experiments_repo import StaleRevision
from service.usecases import change_experiment as changes
from service.usecases.build_report import report_for
from service.web import services

# What each action does to readers, said on the confirmation page.
CONSEQUENCES = {
    Action.start: "Readers who match its targeting start seeing its banners within seconds. "
    "Visitors keep the variant they are first assigned, whatever you edit later.",
    Action.pause: "No reader sees its banners until you start it again. Assignments and "
    "results are kept.",
    Action.stop: "It ends for good: no reader sees its banners again and it becomes "
    "read-only. Results stay available.",
    Action.archive: "It leaves the list of current experiments. Its results and history stay "
    "available under archived experiments.",
}
PREVIEW_HOURS = (1, 24, 72, 168)
_CHANGED = (
    "The experiment changed meanwhile; nothing was done. Look at its current state and try again."
)


def _percent(raw: str) -> float | None:
    """A percentage typed in the form as a share (5 -> 0.05); None when not a number."""
    try:
        value = float(raw.strip() or "0")
    except ValueError:
        return None
    return value / 100 if value == value else None  # NaN is not a number either


def register(bp: Blueprint) -> None:
    @bp.get("/")
    @login_required()
    def experiments() -> str:
        svc = services()
        show_archived = request.args.get("archived") == "1"
        statuses = [Status.archived] if show_archived else [s for s in Status if s != "archived"]
        now = svc.clock()
        running = [s.experiment for s in svc.experiments.find(ON_PLACEMENT)]
        rows = [
            overview(
                stored,
                report_for(svc, stored.experiment, now=now, daily=False),
                now,
                _taken_by(stored.experiment, running),
            )
            for stored in svc.experiments.find(statuses)
        ]
        order = {Status.running: 0, Status.paused: 1, Status.draft: 2, Status.stopped: 3}
        rows.sort(key=lambda r: (order.get(r.stored.experiment.status, 4), r.key))
        return render_template("dashboard/experiments.html", rows=rows, show_archived=show_archived)

    @bp.route(
        "/experiments/<experiment_key:key>/<any(start, pause, stop, archive):action>",
        methods=["GET", "POST"],
    )
    @login_required(Role.editor)
    def lifecycle(key: str, action: str) -> str | BaseResponse | tuple[str, int]:
        stored = load(key)
        act = Action(action)
        if act not in allowed_actions(stored.experiment.status):
            abort(409, f"You cannot {action} an experiment that is {stored.experiment.status}.")
        if request.method == "GET":
            return render_template(
                "dashboard/confirm.html",
                stored=stored,
                action=act,
                consequence=CONSEQUENCES[act],
                conflicts=(
                    conflict_warnings.for_experiment(stored.experiment)
                    if act == Action.start
                    else []
                ),
            )
        try:
            saved = changes.apply_action(
                services(),
                stored,
                act,
                actor=g.actor,
                expected_revision=whole_number(request.form.get("revision")),
            )
            flash(f"{stored.experiment.name} is now {saved.experiment.status}.")
        except (StaleRevision, TransitionNotAllowed):
            flash(
                "The experiment changed while you were confirming; nothing was done. Look "
                "at its current state and try again."
            )
        return redirect(url_for("dashboard.results", key=key))

    @bp.post("/experiments/<experiment_key:key>/ship")
    @login_required(Role.editor)
    def ship(key: str) -> BaseResponse:
        stored = load(key)
        holdout = _percent(request.form.get("holdout_percent", "0"))
        try:
            saved = changes.ship_variant(
                services(),
                stored,
                request.form.get("variant", ""),
                -1.0 if holdout is None else holdout,
                actor=g.actor,
                expected_revision=whole_number(request.form.get("revision")),
            )
            shipped = saved.experiment.shipped
            assert shipped is not None
            flash(f"{shipped.variant} is shipped: every eligible reader now sees it.")
        except ValidationFailed as exc:
            flash("Nothing was shipped: " + "; ".join(f"{k} {v}" for k, v in exc.fields.items()))
        except (StaleRevision, TransitionNotAllowed):
            flash(_CHANGED)
        return redirect(url_for("dashboard.results", key=key))

    @bp.post("/experiments/<experiment_key:key>/unship")
    @login_required(Role.editor)
    def unship(key: str) -> BaseResponse:
        stored = load(key)
        try:
            saved = changes.unship_variant(
                services(),
                stored,
                actor=g.actor,
                expected_revision=whole_number(request.form.get("revision")),
            )
            flash(f"{stored.experiment.name} is unshipped: it is {saved.experiment.status} again.")
        except (StaleRevision, TransitionNotAllowed):
            flash(_CHANGED)
        return redirect(url_for("dashboard.results", key=key))

    @bp.get("/experiments/<experiment_key:key>/history")
    @login_required()
    def history(key: str) -> str:
        stored = load(key)
        revisions = services().experiments.history(key) or []
        by_number = {r.revision: r for r in revisions}
        compare = None
        first, second = whole_number(request.args.get("a")), whole_number(request.args.get("b"))
        if first in by_number and second in by_number:
            old, new = by_number[first], by_number[second]
            compare = (first, second, diff_documents(old.document, new.document))
        return render_template(
            "dashboard/history.html",
            stored=stored,
            revisions=revisions,
            compare=compare,
        )

    @bp.post("/experiments/<experiment_key:key>/preview-link")
    @login_required(Role.editor)
    def preview_link(key: str) -> str | tuple[str, int]:
        stored = load(key)
        experiment = stored.experiment
        variant = request.form.get("variant", experiment.control.key)
        hours = whole_number(request.form.get("hours")) or 24
        if experiment.variant(variant) is None or hours not in PREVIEW_HOURS:
            abort(400, "Pick one of the experiment's variants and a validity period.")
        svc = services()
        expires = int(svc.clock().timestamp()) + hours * 3600
        token = svc.signer.preview(experiment.key, variant, expires)
        query = {"sf_preview": token, "placements": str(experiment.placement)}
        return render_template(
            "dashboard/preview_link.html",
            stored=stored,
            variant=variant,
            token=token,
            expires=datetime.fromtimestamp(expires, UTC),
            demo_url=f"{svc.settings.public_url}/demo?{urlencode(query)}",
        )


def _taken_by(experiment: Experiment, running: Sequence[Experiment]) -> tuple[Conflict, ...]:
    """For the list, configuration alone (no sampled decisions per row): the running
    experiments that take this one's placement first."""
    if experiment.status in (Status.stopped, Status.archived):
        return ()
    contender = Contender(experiment.key, experiment.placement, experiment.priority, experiment)
    return conflicts(contender, running, None)
