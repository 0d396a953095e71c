"""The lifecycle table, and what an edit may change in each status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from service.domain.errors import EditNotAllowed, TransitionNotAllowed, ValidationFailed
from service.domain.experiment import Experiment, Status
from service.domain.lifecycle import Action, allowed_actions, check_update, next_status
from service.schemas.experiment import parse_experiment
from tests.support import banner, experiment_doc

ALLOWED = {
    (Status.draft, Action.start): Status.running,
    (Status.draft, Action.archive): Status.archived,
    (Status.running, Action.pause): Status.paused,
    (Status.running, Action.stop): Status.stopped,
    (Status.paused, Action.start): Status.running,
    (Status.paused, Action.stop): Status.stopped,
    (Status.stopped, Action.archive): Status.archived,
}
EVERY_PAIR = [(status, action) for status in Status for action in Action]


@pytest.mark.parametrize(("status", "action"), [p for p in EVERY_PAIR if p in ALLOWED])
def test_allowed_transitions(status: Status, action: Action) -> None:
    assert next_status(status, action) is ALLOWED[status, action]


@pytest.mark.parametrize(("status", "action"), [p for p in EVERY_PAIR if p not in ALLOWED])
def test_refused_transitions(status: Status, action: Action) -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        next_status(status, action)
    assert caught.value.message.startswith(f"cannot {action} an experiment that is {status};")
    assert (caught.value.status, caught.value.action) == (status, action)


def test_a_refusal_names_what_is_allowed() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        next_status(Status.draft, Action.pause)
    assert caught.value.message == (
        "cannot pause an experiment that is draft; allowed from draft: start, archive"
    )


def test_an_archived_experiment_allows_nothing() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        next_status(Status.archived, Action.start)
    assert caught.value.message.endswith("allowed from archived: nothing")


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        (Status.draft, (Action.start, Action.archive)),
        (Status.running, (Action.pause, Action.stop)),
        (Status.paused, (Action.start, Action.stop)),
        (Status.stopped, (Action.archive,)),
        (Status.archived, ()),
    ],
)
def test_allowed_actions(status: Status, actions: tuple[Action, ...]) -> None:
    assert allowed_actions(status) == actions


Edit = Callable[[dict[str, Any]], None]


def experiment(status: Status, edit: Edit | None = None) -> Experiment:
    doc = experiment_doc(status=str(status))
    if edit is not None:
        edit(doc)
    return parse_experiment(doc)


def field_errors(status: Status, edit: Edit) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        check_update(experiment(status), experiment(status, edit))
    return caught.value.fields


def move_placement(doc: dict[str, Any]) -> None:
    doc["placement"] = "header"


def change_seed(doc: dict[str, Any]) -> None:
    doc["seed"] = "reshuffle"


def use_bandit(doc: dict[str, Any]) -> None:
    doc["allocation"] = "bandit"


def drop_control(doc: dict[str, Any]) -> None:
    del doc["variants"][0]


def rename_control(doc: dict[str, Any]) -> None:
    doc["variants"][0]["key"] = "two-dollars"


def copy_and_weights(doc: dict[str, Any]) -> None:
    doc["name"] = "Monthly ask, second round"
    doc["variants"][1]["weight"] = 80
    doc["variants"][0]["banner"]["heading"] = "A new heading"


def add_variant(doc: dict[str, Any]) -> None:
    doc["variants"].insert(1, {"key": "ten-dollars", "weight": 20, "banner": banner()})


LOCKED_WHILE_LIVE = [
    (move_placement, "placement"),
    (change_seed, "seed"),
    (use_bandit, "allocation"),
    (drop_control, "variants"),
    (rename_control, "variants"),
]


@pytest.mark.parametrize("status", [Status.running, Status.paused])
@pytest.mark.parametrize(("edit", "field"), LOCKED_WHILE_LIVE)
def test_a_live_experiment_keeps_what_assigns_visitors(
    status: Status, edit: Edit, field: str
) -> None:
    assert field in field_errors(status, edit)


@pytest.mark.parametrize("status", [Status.running, Status.paused])
def test_a_missing_variant_is_named(status: Status) -> None:
    message = field_errors(status, rename_control)["variants"]
    assert "control" in message
    assert "five-dollars" not in message


@pytest.mark.parametrize("status", [Status.running, Status.paused])
@pytest.mark.parametrize("edit", [copy_and_weights, add_variant])
def test_a_live_experiment_takes_new_copy_weights_and_variants(status: Status, edit: Edit) -> None:
    check_update(experiment(status), experiment(status, edit))


@pytest.mark.parametrize("edit", [edit for edit, _ in LOCKED_WHILE_LIVE])
def test_a_draft_may_change_anything(edit: Edit) -> None:
    check_update(experiment(Status.draft), experiment(Status.draft, edit))


def test_every_locked_field_is_reported_at_once() -> None:
    def many(doc: dict[str, Any]) -> None:
        move_placement(doc)
        change_seed(doc)
        drop_control(doc)

    assert set(field_errors(Status.running, many)) == {"placement", "seed", "variants"}


def test_the_key_cannot_change() -> None:
    old = experiment(Status.draft)
    new = parse_experiment(experiment_doc(key="another-key"))
    with pytest.raises(ValidationFailed) as caught:
        check_update(old, new)
    assert set(caught.value.fields) == {"key"}


@pytest.mark.parametrize("status", [Status.draft, Status.running, Status.paused])
def test_the_status_cannot_change_through_an_edit(status: Status) -> None:
    old = experiment(status)
    new = old.with_status(Status.archived)
    with pytest.raises(ValidationFailed) as caught:
        check_update(old, new)
    assert caught.value.fields == {"status": "use the start, pause, stop or archive action"}


@pytest.mark.parametrize("status", [Status.stopped, Status.archived])
def test_a_finished_experiment_is_read_only(status: Status) -> None:
    old = experiment(status)
    with pytest.raises(EditNotAllowed) as caught:
        check_update(old, old)
    assert str(status) in caught.value.message
