"""Which of a placement's running experiments a reader is offered first.

Highest priority first; at equal priority, the experiment whose key sorts first (plain
character order, so "a-test" before "demo-monthly-ask" before "my-test") wins. The order is
fixed by configuration alone, never by which experiment started first, so every server and
every decision agrees on it.
"""

from __future__ import annotations

from service.domain.experiment import Experiment, Status

# The statuses whose experiments take part in decisions and so take their placement's readers:
# a shipped experiment serves its winner like a running test (service/domain/decision.py).
ON_PLACEMENT = (Status.running, Status.shipped)

TIE_BREAK_RULE = "at equal priority, the experiment whose key sorts first alphabetically wins"
TIE_BREAK = f"{TIE_BREAK_RULE[0].upper()}{TIE_BREAK_RULE[1:]} the placement."


def order(experiment: Experiment) -> tuple[int, str]:
    """Sort key of the decision path: smaller comes first."""
    return (-experiment.priority, experiment.key)


def ahead(other: Experiment, candidate: Experiment) -> bool:
    """Whether `other` is offered the reader before `candidate` where both apply."""
    return order(other) < order(candidate)
