"""The visitor ledger: what the service remembers about one reader, as one Redis hash.

Field layout (field names are part of the stored format; the events issue writes them too):

- `a:<experiment>`   the assigned variant key, or "~holdout"; written once, never moved
- `i:<experiment>`   recent impression times (epoch seconds, space separated, oldest first),
                     trimmed to what the experiment's caps can still need
- `s:<placement>`    snoozed until (epoch seconds) after a dismissal on that placement
- `sup`              epoch seconds of the latest verified donation (webhook)

Parsing is forgiving: a malformed field is ignored rather than failing a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ASSIGNMENT = "a:"
IMPRESSIONS = "i:"
SNOOZE = "s:"
SUPPORTER = "sup"


def assignment_field(experiment: str) -> str:
    return ASSIGNMENT + experiment


def impressions_field(experiment: str) -> str:
    return IMPRESSIONS + experiment


def snooze_field(placement: str) -> str:
    return SNOOZE + placement


@dataclass(frozen=True, slots=True)
class Ledger:
    assignments: Mapping[str, str] = field(default_factory=dict)
    impressions: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    snoozed_until: Mapping[str, float] = field(default_factory=dict)
    supporter_since: float | None = None


def parse_ledger(fields: Mapping[str, str]) -> Ledger:
    assignments: dict[str, str] = {}
    impressions: dict[str, tuple[float, ...]] = {}
    snoozes: dict[str, float] = {}
    supporter: float | None = None
    for name, value in fields.items():
        try:
            if name.startswith(ASSIGNMENT):
                assignments[name[len(ASSIGNMENT) :]] = value
            elif name.startswith(IMPRESSIONS):
                impressions[name[len(IMPRESSIONS) :]] = tuple(float(t) for t in value.split())
            elif name.startswith(SNOOZE):
                snoozes[name[len(SNOOZE) :]] = float(value)
            elif name == SUPPORTER:
                supporter = float(value)
        except ValueError:
            continue
    return Ledger(assignments, impressions, snoozes, supporter)
