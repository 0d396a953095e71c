"""The editor's and the Start confirmation's placement warnings: which running experiments take
this experiment's readers first, in words (service/usecases/placement_conflicts.py finds them)."""

from __future__ import annotations

from service.dashboard import form_values
from service.dashboard.experiment_form import FormState, to_document
from service.domain.errors import ValidationFailed
from service.domain.experiment import Experiment, Placement
from service.domain.placement_conflicts import Contender
from service.schemas.experiment import parse_experiment
from service.usecases.placement_conflicts import placement_conflicts
from service.web import services


def for_experiment(experiment: Experiment) -> list[str]:
    contender = Contender(experiment.key, experiment.placement, experiment.priority, experiment)
    return _texts(contender)


def for_form(state: FormState, saved_key: str | None) -> list[str]:
    """The form as it is now, saved or not. A new experiment may have no key or name yet:
    stand-ins let its targeting be read, and the tie-break is then said as a condition."""
    top = state.top
    key = saved_key or str(top.get("key") or "")
    priority = form_values.integer(str(top.get("priority") or ""))
    placement = str(top.get("placement") or "")
    if priority is None or placement not in {p.value for p in Placement}:
        return []  # the form says what is wrong with them
    stand_ins = {"key": key or "new-experiment", "name": str(top.get("name") or "new")}
    experiment: Experiment | None
    try:
        experiment = parse_experiment(to_document(state, status="draft", **stand_ins))
    except ValidationFailed:
        experiment = None
    return _texts(Contender(key, Placement(placement), priority, experiment))


def _texts(contender: Contender) -> list[str]:
    found = placement_conflicts(services(), contender)
    return [c.text(contender.placement, contender.key) for c in found]
