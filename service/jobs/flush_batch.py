"""One stream batch made ready for the flusher's SQL write: entries that could never be
stored are set aside (to the dead-letter stream, acked with the rest), the others prepared."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from service.store.redis.event_stream import EventStream, Malformed, StreamBatch
from service.store.sql.decision_log_repo import unfit_reason as decision_unfit_reason
from service.store.sql.event_deltas import PreparedWrite, prepare, unfit_reason

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    stream: EventStream  # where to ack it
    batch: StreamBatch  # to ack: every entry id; records to write; entries set aside
    write: PreparedWrite


@dataclass
class FlushCounts:
    entries: int = 0  # stream entries handled and acked
    inserted: int = 0  # events new to SQL
    duplicates: int = 0  # already in SQL (a replay) or repeated in a batch
    malformed: int = 0  # set aside: unparseable, or impossible to store
    batches: int = 0
    decisions: int = 0  # sampled decisions new to decision_log


def prepare_batch(stream: EventStream, batch: StreamBatch) -> PreparedBatch:
    """Set aside records that could never be stored, and make the rest ready to write."""
    records, malformed = [], list(batch.malformed)
    for record in batch.records:
        why = unfit_reason(record)
        if why is None:
            records.append(record)
        else:
            log.warning("event %s set aside: %s", record.event_id, why)
            malformed.append(Malformed(record.event_id, record.to_fields(), why))
    decisions = []
    for decision in batch.decisions:
        why = decision_unfit_reason(decision)
        if why is None:
            decisions.append(decision)
        else:
            log.warning("decision %s set aside: %s", decision.entry_id, why)
            malformed.append(Malformed(decision.entry_id, decision.to_fields(), why))
    return PreparedBatch(
        stream,
        StreamBatch(batch.ids, records, malformed, decisions),
        prepare(records, decisions),
    )
