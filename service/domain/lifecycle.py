"""The experiment lifecycle: which actions move which status, and what an edit may change."""

from __future__ import annotations

from enum import StrEnum

from service.domain.errors import EditNotAllowed, TransitionNotAllowed, ValidationFailed
from service.domain.experiment import Experiment, Status


class Action(StrEnum):
    start = "start"
    pause = "pause"
    stop = "stop"
    archive = "archive"


# draft → running ⇄ paused → stopped → archived; a draft that never ran may be archived directly.
_TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.draft, Action.start): Status.running,
    (Status.running, Action.pause): Status.paused,
    (Status.paused, Action.start): Status.running,
    (Status.running, Action.stop): Status.stopped,
    (Status.paused, Action.stop): Status.stopped,
    (Status.draft, Action.archive): Status.archived,
    (Status.stopped, Action.archive): Status.archived,
}

_READ_ONLY = frozenset({Status.stopped, Status.archived})
_LIVE = frozenset({Status.running, Status.paused})


def next_status(status: Status, action: Action) -> Status:
    try:
        return _TRANSITIONS[status, action]
    except KeyError:
        raise TransitionNotAllowed(status, action, allowed_actions(status)) from None


def allowed_actions(status: Status) -> tuple[Action, ...]:
    return tuple(action for action in Action if (status, action) in _TRANSITIONS)


def check_update(old: Experiment, new: Experiment) -> None:
    """Refuse an edit that would break an invariant; every broken field is reported at once."""
    if old.status in _READ_ONLY:
        raise EditNotAllowed(f"a {old.status} experiment is read-only")
    errors: dict[str, str] = {}
    if new.key != old.key:
        errors["key"] = "cannot be changed"
    if new.status != old.status:
        errors["status"] = "use the start, pause, stop or archive action"
    if old.status in _LIVE:
        # Visitors already assigned must never move to another variant (or out of the
        # experiment), and these fields decide where a visitor lands.
        why = f"cannot change while the experiment is {old.status}"
        for name in ("placement", "seed", "allocation"):
            if getattr(new, name) != getattr(old, name):
                errors[name] = why
        kept = {variant.key for variant in new.variants}
        missing = [variant.key for variant in old.variants if variant.key not in kept]
        if missing:
            errors["variants"] = (
                f"variant {', '.join(missing)} is missing: variants cannot be removed or "
                f"renamed while the experiment is {old.status}"
            )
    if errors:
        raise ValidationFailed(errors)
