"""The experiment editor offers an input for every targeting field of the experiment document,
so a targeting rule added to the document is also editable in the dashboard."""

from __future__ import annotations

from service.dashboard.editor_labels import TARGETING_INPUTS
from service.schemas.experiment import Targeting

# Choice fields the editor draws as checkboxes and a select, from their enums.
CHOICE_FIELDS = {"targeting.devices", "targeting.audience"}


def test_every_targeting_field_of_the_document_has_an_editor_input() -> None:
    document_fields = {f"targeting.{name}" for name in Targeting.model_fields}
    inputs = [spec.name for spec in TARGETING_INPUTS]
    assert len(inputs) == len(set(inputs))
    assert set(inputs) == document_fields - CHOICE_FIELDS


def test_every_targeting_input_says_what_it_is() -> None:
    assert all(spec.label for spec in TARGETING_INPUTS)
