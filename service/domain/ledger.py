"""The visitor ledger: what the service remembers about one reader, as one Redis hash.

Field layout (field names are part of the stored format; the events issue writes them too):

- `a:<experiment>`   the assigned variant key, or "~holdout"; written once, never moved
- `i:<experiment>`   recent impressions as "<epoch seconds>/<event id prefix>", space
                     separated, oldest first, trimmed to what the experiment's caps can need;
                     seconds in base 36 and a 4-character id prefix, so that five entries
                     stay under Redis's 64-byte limit for a compact hash (entries written
                     before, decimal with a '.' and a 12-character prefix, still parse)
- `s:<placement>`    snoozed until (epoch seconds) after a dismissal on that placement
- `li:<experiment>`  epoch seconds of the latest impression (for payment attribution)
- `sup`              epoch seconds of the latest verified donation (webhook)
- `ho:<experiment>`  epoch seconds of the latest decision that held the reader out of a
                     shipped experiment and counted them in its holdout group (for payment
                     attribution, as `li:` is for a shown banner)

Parsing is forgiving: a malformed field is ignored rather than failing a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from service.domain import base36
from service.domain.experiment import DismissReason, Experiment

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
    last_impressions: Mapping[str, float] = field(default_factory=dict)
    holdout_exposures: Mapping[str, float] = field(default_factory=dict)


def parse_ledger(fields: Mapping[str, str]) -> Ledger:
    assignments: dict[str, str] = {}
    impressions: dict[str, tuple[float, ...]] = {}
    snoozes: dict[str, float] = {}
    last_impressions: dict[str, float] = {}
    holdout_exposures: dict[str, float] = {}
    supporter: float | None = None
    for name, value in fields.items():
        try:
            if name.startswith(ASSIGNMENT):
                assignments[name[len(ASSIGNMENT) :]] = value
            elif name.startswith(IMPRESSIONS):
                impressions[name[len(IMPRESSIONS) :]] = tuple(
                    _impression_seconds(t.partition("/")[0]) for t in value.split()
                )
            elif name.startswith(SNOOZE):
                snoozes[name[len(SNOOZE) :]] = float(value)
            elif name.startswith(LAST_IMPRESSION):
                last_impressions[name[len(LAST_IMPRESSION) :]] = float(value)
            elif name.startswith(HOLDOUT_EXPOSURE):
                holdout_exposures[name[len(HOLDOUT_EXPOSURE) :]] = float(value)
            elif name == SUPPORTER:
                supporter = float(value)
        except ValueError:
            continue
    return Ledger(assignments, impressions, snoozes, supporter, last_impressions, holdout_exposures)


LAST_IMPRESSION = "li:"
HOLDOUT_EXPOSURE = "ho:"


def last_impression_field(experiment: str) -> str:
    """Epoch seconds of the latest impression, which the payment webhook uses for attribution
    (the capped impression list may not reach back attribution_days)."""
    return LAST_IMPRESSION + experiment


def holdout_exposure_field(experiment: str) -> str:
    """Epoch seconds of the latest decision that counted the reader in a shipped experiment's
    holdout group (service/domain/shipped_holdout.py), for payment attribution."""
    return HOLDOUT_EXPOSURE + experiment


# Ledger updates from events, as (op, field, *args) for the ledger script. Every op is
# idempotent (applying an event twice leaves the same ledger), yet an event's ops are applied
# only when Redis finds the event new (store/redis/event_ingest.py): a duplicate id sent under
# another token would otherwise leave an exposure, cap or snooze that SQL never counts.
LedgerOp = tuple[str, ...]


def impression_ops(experiment: Experiment, ts: float, event_id: str) -> list[LedgerOp]:
    """The impression is stored as "<ts>/<event id prefix>": the id makes two impressions in
    the same second two entries, and the same impression sent twice one entry."""
    caps = experiment.caps
    window_start = ts - caps.per_days * 86_400
    keep = caps.max_impressions or 1
    entry = f"{base36.encode(int(ts))}/{event_id[:4]}"
    return [
        ("imp", impressions_field(experiment.key), entry, _num(window_start), str(keep)),
        ("max", last_impression_field(experiment.key), _num(ts)),
    ]


def snooze_ops(experiment: Experiment, reason: DismissReason, ts: float) -> list[LedgerOp]:
    until = ts + experiment.snooze_hours.hours_for(reason) * 3600
    return [("max", snooze_field(str(experiment.placement)), _num(until))]


def snooze_until_ops(placement: str, until: float) -> list[LedgerOp]:
    """Snooze a placement until an instant: an e-mail reminder sign-up keeps the banner away
    until the reminder is due (usecases/reminders.py)."""
    return [("max", snooze_field(placement), _num(until))]


def reminder_click_ops(experiment: str, ts: float) -> list[LedgerOp]:
    """A click on a reminder e-mail's link counts as seeing the experiment's appeal again, so
    that a donation within attribution_days of it is credited (usecases/receive_payment.py)."""
    return [("max", last_impression_field(experiment), _num(ts))]


def holdout_exposure_ops(experiment: str, ts: float) -> list[LedgerOp]:
    return [("max", holdout_exposure_field(experiment), _num(ts))]


def supporter_ops(ts: float) -> list[LedgerOp]:
    return [("max", SUPPORTER, _num(ts))]


def _num(value: float) -> str:
    return f"{value:.3f}"


def _impression_seconds(stamp: str) -> float:
    return float(stamp) if "." in stamp else float(int(stamp, 36))
