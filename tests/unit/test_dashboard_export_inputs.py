"""The export form offers an input for every field of every destination kind's document, so a
destination kind added to the schedule document is also configurable in the dashboard."""

from __future__ import annotations

import typing

from service.dashboard.views_exports import DESTINATION_INPUTS
from service.domain.export_schedule import DestinationType
from service.schemas.exports import Destination


def test_every_destination_field_has_a_form_input() -> None:
    union = typing.get_args(Destination)[0]
    models = {m.model_fields["type"].annotation.__args__[0]: m for m in typing.get_args(union)}
    assert set(models) == {kind.value for kind in DestinationType}
    for kind, model in models.items():
        document = set(model.model_fields) - {"type"}
        inputs = {spec.key for spec in DESTINATION_INPUTS if spec.kind == kind}
        assert inputs == document, kind
