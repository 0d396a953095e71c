"""The export form offers an input for every field of every destination kind's document, so a
destination kind added to the schedule document is also configurable in the dashboard. The
inputs are derived from the document models; each field must name itself (its title is the
input's label), or the form would show pydantic's made-up one."""

from __future__ import annotations

import typing

from service.dashboard.views_exports import DESTINATION_INPUTS
from service.domain.export_schedule import DestinationType
from service.schemas.exports import DestinationModels


def test_every_destination_field_has_a_form_input() -> None:
    models = {
        m.model_fields["type"].annotation.__args__[0]: m for m in typing.get_args(DestinationModels)
    }
    assert set(models) == {kind.value for kind in DestinationType}
    for kind, model in models.items():
        document = set(model.model_fields) - {"type"}
        inputs = {spec.key for spec in DESTINATION_INPUTS if spec.kind == kind}
        assert inputs == document, kind
        for name, declared in model.model_fields.items():
            assert declared.title, f"{kind}.{name} has no title to label its input"
