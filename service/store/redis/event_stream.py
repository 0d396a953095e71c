"""The flusher's side of one event partition's stream: one consumer group, "flusher".

An entry leaves the group's pending list only by XACK, and the flusher acks only after the
SQL transaction holding it has committed. So an entry is in SQL, or still in the stream
(pending or undelivered), at every moment; trimming removes only entries below both the
lowest pending id and the last delivered id, i.e. entries already acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

from redis.exceptions import ResponseError

from service.domain.decision_log import KIND, KIND_FIELD, LoggedDecision
from service.domain.events import EventRecord
from service.store.redis.client import RedisClient
from service.store.redis.keys import Keys

log = logging.getLogger(__name__)

GROUP = "flusher"
# Malformed entries kept for a person to look at: capped, since nothing else trims it.
DEAD_LETTER_MAXLEN = 10_000

Entry = tuple[str, dict[str, str] | None]


@dataclass(frozen=True, slots=True)
class Malformed:
    entry_id: str
    fields: dict[str, str]
    error: str


@dataclass(frozen=True, slots=True)
class StreamBatch:
    ids: list[str] = field(default_factory=list)  # every entry, to be acked once handled
    records: list[EventRecord] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    # Sampled decisions share the stream (k=decision), the transaction and the ack.
    decisions: list[LoggedDecision] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


class EventStream:
    """One partition's stream; partition None is the single stream of installs from before
    partitioning, which flushers drain while it has entries and nothing writes any more."""

    def __init__(self, client: RedisClient, keys: Keys, partition: int | None = None) -> None:
        self._client = client
        self.partition = partition
        self.name = keys.events_stream(partition)
        self._dead_letter = keys.events_dead_letter(partition)

    def __repr__(self) -> str:
        return f"EventStream({self.name!r})"

    def exists(self) -> bool:
        return bool(self._client.exists(self.name))

    def ensure_group(self) -> None:
        """Create the group (and the stream) if missing. It starts at id 0, so entries added
        before the first flusher ever ran are delivered too."""
        try:
            self._client.xgroup_create(self.name, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(
        self, consumer: str, count: int, *, pending: bool = False, block_ms: int | None = None
    ) -> StreamBatch:
        """New entries for `consumer`, or with `pending` the ones it was given before and has
        not acked (after a failed write or a restart under the same name)."""
        reply = self._client.xreadgroup(
            GROUP,
            consumer,
            {self.name: "0" if pending else ">"},
            count=count,
            block=None if pending else block_ms,
        )
        # RESP2 reply: [[stream, [(id, fields), ...]]] (one stream asked for).
        entries: list[Entry] = cast(Any, reply)[0][1] if reply else []
        return _parse(entries)

    def claim(
        self,
        consumer: str,
        count: int,
        *,
        min_idle_ms: int,
        start: str = "0-0",
        end: str | None = None,
    ) -> tuple[StreamBatch, str]:
        """Take over entries other consumers were given and left unacked for `min_idle_ms`
        (a consumer that died). Returns them and the cursor to continue from ("0-0": done,
        also once past `end`, so that a pass can stop at the entries pending when it began
        instead of chasing a live consumer's newer ones)."""
        reply = self._client.xautoclaim(
            self.name, GROUP, consumer, min_idle_ms, start_id=start, count=count
        )
        cursor, entries = reply[0], reply[1]
        if end is not None and _parse_id(cursor) > _parse_id(end):
            cursor = "0-0"
        # Redis 7 drops entries deleted from the stream (e.g. by erasure) from the pending
        # list and names them apart; Redis 6.2 hands them back with no fields: both are acked.
        deleted = reply[2] if len(reply) > 2 else []
        batch = _parse([e for e in entries if e[0] is not None])
        batch.ids.extend(deleted)
        return batch, cursor

    def ack(self, batch: StreamBatch) -> None:
        """Acknowledge a handled batch, setting malformed entries aside first; one round trip."""
        if not batch.ids:
            return
        pipe = self._client.pipeline(transaction=False)
        for bad in batch.malformed:
            fields: dict[Any, Any] = {**bad.fields, "_entry": bad.entry_id}
            fields["_error"] = bad.error[:200]
            pipe.xadd(self._dead_letter, fields, maxlen=DEAD_LETTER_MAXLEN, approximate=True)
        pipe.xack(self.name, GROUP, *batch.ids)
        pipe.execute()

    def trim(self) -> int:
        """Delete the entries every group has acknowledged; returns how many went.

        Safe without a transaction: between reading the bound and trimming, entries can only
        be appended (above last-delivered-id), delivered (which raises last-delivered-id) or
        acked, all of which leave the bound a conservative one.
        """
        groups = self._client.xinfo_groups(self.name)
        if not groups:
            return 0
        bounds: list[tuple[int, int]] = []
        for group in groups:
            delivered = _parse_id(str(group["last-delivered-id"]))
            bounds.append((delivered[0], delivered[1] + 1))  # just above it
            if int(group["pending"]):
                summary = self._client.xpending(self.name, group["name"])
                if summary["min"] is not None:
                    bounds.append(_parse_id(str(summary["min"])))
        low_ms, low_seq = min(bounds)
        if (low_ms, low_seq) <= (0, 1):
            return 0
        return int(self._client.xtrim(self.name, minid=f"{low_ms}-{low_seq}", approximate=False))

    def forget_idle_consumers(self, idle_ms: int) -> int:
        """Remove consumers with nothing pending that have been silent for `idle_ms`: each
        flusher process has a name of its own, so restarts would otherwise pile them up."""
        return sum(
            self._delete_consumer(str(c["name"]))
            for c in self._consumers()
            if not int(c["pending"]) and int(c["idle"]) >= idle_ms
        )

    def remove_consumer(self, name: str) -> bool:
        """Remove a consumer on its way out, unless it still has pending entries."""
        for consumer in self._consumers():
            if consumer["name"] == name and not int(consumer["pending"]):
                return bool(self._delete_consumer(name))
        return False

    def _consumers(self) -> list[dict[str, Any]]:
        return self._client.xinfo_consumers(self.name, GROUP)

    def _delete_consumer(self, name: str) -> int:
        # Only ever called for a consumer seen with nothing pending: deleting a consumer
        # drops its pending list, which would orphan unacknowledged entries.
        return int(self._client.xgroup_delconsumer(self.name, GROUP, name))

    def last_pending_id(self) -> str | None:
        """The highest entry id delivered and not yet acknowledged, if any."""
        highest = self._client.xpending(self.name, GROUP)["max"]
        return None if highest is None else str(highest)

    def pending_count(self) -> int:
        """Entries delivered to some consumer of the group and not yet acknowledged."""
        return int(self._client.xpending(self.name, GROUP)["pending"])

    def length(self) -> int:
        return int(self._client.xlen(self.name))

    def dead_letters(self, count: int = 100) -> list[tuple[str, dict[str, str]]]:
        """The latest entries set aside as malformed, newest first."""
        return cast(
            list[tuple[str, dict[str, str]]],
            self._client.xrevrange(self._dead_letter, count=count),
        )


def _parse(entries: list[Entry]) -> StreamBatch:
    batch = StreamBatch()
    for entry_id, fields in entries:
        batch.ids.append(entry_id)
        if not fields:
            continue  # deleted from the stream while pending (visitor erasure): just ack it
        try:
            if fields.get(KIND_FIELD) == KIND:
                batch.decisions.append(LoggedDecision.from_fields(fields))
            else:
                batch.records.append(EventRecord.from_fields(fields))
        except (KeyError, ValueError, TypeError) as exc:
            # Acked with the batch (and kept in the dead-letter stream), so one bad entry
            # cannot stop every later one from being written.
            error = f"{type(exc).__name__}: {exc}"
            log.warning("malformed stream entry %s set aside: %s", entry_id, error)
            batch.malformed.append(Malformed(entry_id, dict(fields), error))
    return batch


def _parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
