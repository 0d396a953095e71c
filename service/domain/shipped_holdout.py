"""A shipped experiment's long-term holdout as a group of its own (README "Shipping a winner").

Held-out readers see no banner, so the snippet sends no impression for them: the decision
itself counts them. A decision that holds a reader out of a shipped experiment records an
exposure of the holdout group (an impression of the pseudo-variant HOLDOUT, source `decision`)
and stamps the ledger's `ho:<experiment>`, which the payment webhook reads as it reads `li:`
for a shown banner, so a later donation within attribution_days is credited to the holdout.

Only readers the test never showed a banner to are counted (no `li:<experiment>`): a
reader's results live in one visitor_outcomes row per experiment, whose variant is the one
they were first exposed to, so a test reader's holdout exposure would land in their test
variant. The report's "since shipping" comparison (service/domain/report_since_shipping.py)
matches this on the shipped side: the shipped variant's readers first exposed since the ship.

The event id is one per reader and experiment, so however often a held-out reader comes back
their group counts them once. Recording costs the decision a second Redis round trip, so it is
made at most once an hour per reader (`RESTAMP_SECONDS`): the stamp then lags by under an hour,
against an attribution window of days.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from service.domain.bucketing import HOLDOUT
from service.domain.events import EventRecord, EventType, Source
from service.domain.experiment import Experiment
from service.domain.ledger import Ledger, LedgerOp, holdout_exposure_ops
from service.domain.page_context import PageContext

RESTAMP_SECONDS = 3600


def exposure_due(experiment: Experiment, ledger: Ledger, now: datetime) -> bool:
    """Whether a reader just held out of `experiment` is to be recorded in its holdout group:
    only when it is shipped, the test never showed them a banner, and their stamp is missing
    or over RESTAMP_SECONDS old."""
    if experiment.shipped is None or experiment.key in ledger.last_impressions:
        return False
    stamped = ledger.holdout_exposures.get(experiment.key)
    return stamped is None or now.timestamp() - stamped >= RESTAMP_SECONDS


def holdout_exposure(
    experiment: Experiment, ctx: PageContext, now: datetime
) -> tuple[EventRecord, list[LedgerOp]]:
    """The holdout group's exposure of this reader, and the ledger stamp for attribution."""
    ms = int(now.timestamp() * 1000)
    record = EventRecord(
        event_id=holdout_event_id(experiment.key, ctx.visitor),
        type=EventType.impression,
        experiment=experiment.key,
        variant=HOLDOUT,
        visitor=ctx.visitor,
        ts_ms=ms,
        received_ms=ms,
        source=Source.decision,
        country=ctx.country,
        device=str(ctx.device),
        article_views=ctx.article_views,
    )
    return record, holdout_exposure_ops(experiment.key, now.timestamp())


def holdout_event_id(experiment: str, visitor: str) -> str:
    """ "ho:" and a digest of (experiment, visitor): one exposure per reader and experiment,
    35 characters whatever the key's and the visitor's lengths."""
    digest = hashlib.blake2b(f"{experiment}\x1f{visitor}".encode(), digest_size=16).hexdigest()
    return f"ho:{digest}"
