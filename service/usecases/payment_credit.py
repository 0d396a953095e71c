"""Where a payment's money goes: the experiments that showed its donor an appeal within their
attribution window, and the deterministic ids of the events that carry it there.

Deterministic ids are what make applying a fact safe when Redis times out after its script
ran: the SQL transaction rolls back, the retry sends the same ids, and Redis and SQL both
drop the repeats.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import datetime

from service.domain.bucketing import HOLDOUT, bucket
from service.domain.experiment import Experiment
from service.domain.ledger import Ledger
from service.store.sql.event_tables import events as events_table

_EVENT_ID_LENGTH: int = events_table.c.event_id.type.length  # type: ignore[attr-defined]


def attributed(
    ledger: Ledger, experiments: Mapping[str, Experiment], visitor: str, ts: datetime
) -> Iterator[tuple[Experiment, str]]:
    """(experiment, variant) for every experiment the visitor had an impression in (or was
    counted in a shipped experiment's holdout group of) within its attribution window before
    `ts`."""
    for key, last_exposure, variant in _exposures(ledger, experiments, visitor):
        experiment = experiments[key]
        window = experiment.attribution_days * 86_400
        if ts.timestamp() - window <= last_exposure <= ts.timestamp() + 60:
            yield experiment, variant


def _exposures(
    ledger: Ledger, experiments: Mapping[str, Experiment], visitor: str
) -> Iterator[tuple[str, float, str]]:
    """(experiment, when the reader was last exposed to it, the variant to credit) for every
    experiment a donation may be credited to."""
    # In the ledger's order, as the credits were always listed, holdout-only keys after.
    for key in dict.fromkeys([*ledger.last_impressions, *ledger.holdout_exposures]):
        experiment = experiments.get(key)
        if experiment is None:
            continue
        variant = ledger.assignments.get(key)
        last = ledger.last_impressions.get(key)
        if experiment.shipped is not None:
            # A shipped winner is shown without being stored (service/domain/decision.py): the
            # reader's variant now is the ship's, or the shipped holdout, whose readers count
            # as exposed when the decision recorded them (service/domain/shipped_holdout.py).
            variant = bucket(experiment, visitor).assignment
            if variant == HOLDOUT:
                last = ledger.holdout_exposures.get(key)
                if last is not None:
                    yield key, last, HOLDOUT
                continue
        if variant is not None and last is not None and experiment.variant(variant) is not None:
            yield key, last, variant


def payment_event_id(payment_id: str, experiment: str) -> str:
    """The id of a payment's conversion event in one experiment: "pay:<payment id>:<key>", or,
    when that is longer than the events table's column (a 100-character payment id and a
    40-character key make 145), the payment id's digest in its place, so it still fits."""
    return fact_event_id("pay", payment_id, experiment)


def fact_event_id(prefix: str, fact_id: str, experiment: str) -> str:
    """ "<prefix>:<id>:<key>", the id's digest in its place when that is too long."""
    event_id = f"{prefix}:{fact_id}:{experiment}"
    if len(event_id) <= _EVENT_ID_LENGTH:
        return event_id
    digest = hashlib.blake2b(fact_id.encode(), digest_size=16).hexdigest()
    return f"{prefix}:{digest}:{experiment}"
