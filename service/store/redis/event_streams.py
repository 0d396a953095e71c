"""The set of event streams a flusher drains: every partition for `flush --once`, and for a
long-running flusher the partitions its leases give it (flusher_leases.py).

The single stream of installs from before partitioning goes with partition 0, while it
exists: web processes of the previous version may still write it during a rolling upgrade,
and whatever it holds must reach SQL like everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from service.store.redis.client import RedisClient
from service.store.redis.event_stream import EventStream
from service.store.redis.flusher_leases import PartitionLeases, partitions_in_use
from service.store.redis.keys import Keys


class StreamSource(Protocol):
    def everything(self) -> list[EventStream]:
        """Every stream that may hold entries."""
        ...

    def refresh(self, now_ms: int) -> tuple[list[EventStream], list[EventStream], bool]:
        """(the streams held now, those of them newly taken over, whether this process holds
        its fair share of them)."""
        ...

    def release(self) -> None:
        """Give the held streams back on a clean exit."""
        ...


class FixedStreams:
    """Streams drained by one process alone, with no leases (tests, tools)."""

    def __init__(self, streams: Sequence[EventStream]) -> None:
        self._streams = list(streams)
        self._new = True

    def everything(self) -> list[EventStream]:
        return list(self._streams)

    def refresh(self, now_ms: int) -> tuple[list[EventStream], list[EventStream], bool]:
        new, self._new = self._new, False
        return list(self._streams), list(self._streams) if new else [], True

    def release(self) -> None:
        self._new = True


class PartitionedStreams:
    def __init__(self, client: RedisClient, keys: Keys, owner: str) -> None:
        self._client = client
        self._keys = keys
        self.leases = PartitionLeases(client, keys, owner)
        self._streams: dict[int | None, EventStream] = {}

    def stream(self, partition: int | None) -> EventStream:
        if partition not in self._streams:
            self._streams[partition] = EventStream(self._client, self._keys, partition)
        return self._streams[partition]

    def everything(self) -> list[EventStream]:
        count = partitions_in_use(self._client, self._keys)
        return [self.stream(None)] + [self.stream(p) for p in range(count)]

    def refresh(self, now_ms: int) -> tuple[list[EventStream], list[EventStream], bool]:
        state = self.leases.refresh(now_ms)
        owned = [self.stream(p) for p in sorted(state.owned)]
        acquired = [self.stream(p) for p in sorted(state.acquired)]
        if 0 in state.owned:
            legacy = self.stream(None)
            if legacy.exists():
                owned.append(legacy)
                if 0 in state.acquired:
                    acquired.append(legacy)
        return owned, acquired, state.settled

    def release(self) -> None:
        self.leases.release_all()
