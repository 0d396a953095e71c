"""The experiment lifecycle: which actions move which status, and what an edit may change."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from service.domain.errors import EditNotAllowed, TransitionNotAllowed, ValidationFailed
from service.domain.experiment import Experiment, Shipped, Status


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

_READ_ONLY = frozenset({Status.stopped, Status.archived, Status.shipped})
_LIVE = frozenset({Status.running, Status.paused})

# Shipping a winner ends the test: ship and unship are actions of their own (they carry a
# variant and a holdout), not in _TRANSITIONS. A shipped experiment allows no other action:
# unship first (back to the status it was shipped from), then stop or archive as usual.
SHIP = "ship"
UNSHIP = "unship"
_SHIPPABLE = frozenset({Status.running, Status.paused, Status.stopped})
# Most readers should get the winner; a holdout above half would be a new test, not a ship.
MAX_SHIPPED_HOLDOUT = 0.5


def ship(experiment: Experiment, variant: str, holdout: float) -> Experiment:
    """The experiment with `variant` shipped to every eligible reader but a `holdout` share."""
    if experiment.status not in _SHIPPABLE:
        raise TransitionNotAllowed(experiment.status, SHIP, _ship_actions(experiment.status))
    errors: dict[str, str] = {}
    if experiment.variant(variant) is None:
        keys = ", ".join(v.key for v in experiment.variants)
        errors["variant"] = f"is not a variant of {experiment.key} (its variants: {keys})"
    if not 0.0 <= holdout <= MAX_SHIPPED_HOLDOUT:
        errors["holdout"] = f"must be between 0 and {MAX_SHIPPED_HOLDOUT:g}"
    if errors:
        raise ValidationFailed(errors, "the variant cannot be shipped")
    shipped = Shipped(variant, holdout, experiment.status)
    return dataclasses.replace(experiment, status=Status.shipped, shipped=shipped)


def unship(experiment: Experiment) -> Experiment:
    """The experiment back in the status it was shipped from, its test as it was."""
    if experiment.shipped is None:
        raise TransitionNotAllowed(experiment.status, UNSHIP, _ship_actions(experiment.status))
    previous = experiment.shipped.previous_status
    return dataclasses.replace(experiment, status=previous, shipped=None)


def _ship_actions(status: Status) -> tuple[str, ...]:
    if status == Status.shipped:
        return (UNSHIP,)
    return (*allowed_actions(status), *((SHIP,) if status in _SHIPPABLE else ()))


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
    if new.shipped != old.shipped:
        errors["shipped"] = "use the ship and unship actions"
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
