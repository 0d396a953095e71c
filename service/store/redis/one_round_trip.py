"""Sending a request's Redis commands in one round trip, on one server or across a cluster.

The decision and events paths each send a handful of commands (a script on the visitor's
slot, one on an event partition's slot, a rate-limit count on the client's slot). On a single
server they travel as one packet on one connection. On a cluster they are grouped by the node
that owns each command's slot: every group is written to its node first, then every reply is
read, so the nodes work in parallel and the request waits for one round trip, not one per
node. This is hand-written rather than redis-py's pipeline because it is the per-request cost
of both hot paths: the cluster pipeline's bookkeeping cost more CPU than the commands.

Replies that are errors come back in place as exception objects, so one refused command never
desynchronises the others. Those few are then resent through the client's ordinary path,
which follows MOVED and ASK redirects (and updates its slot map), or, for a script the server
has not cached (NOSCRIPT: a restarted or new node), sends the script itself: a refused EVALSHA
ran nothing, so sending it again is safe.

A node that does not answer at all (a master that died) raises, and the request fails closed;
since these commands bypass the cluster client's own error handling, the next request, at most
once a second, first reloads the slot map (CLUSTER SLOTS from a node that answers), so that
once a replica has taken over, requests go to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    MovedError,
    NoScriptError,
    ResponseError,
    TimeoutError,
    TryAgainError,
)

from service.store.redis.client import RedisClient

try:
    from hiredis import pack_command as _pack_command
except ImportError:  # hiredis is a dependency (redis[hiredis]); this keeps a bare install working
    _pack_command = None  # type: ignore[assignment]

Command = tuple[Any, ...]
# Replies a cluster gives while slots move or a replica takes over: resent by the client.
_RESENT = (NoScriptError, MovedError, AskError, TryAgainError, ClusterDownError)


def send(
    client: RedisClient,
    commands: Sequence[tuple[str, Command]],
    scripts: Mapping[str, str],
) -> list[Any]:
    """Run `commands`, each given as (a key naming its slot, the command), in one round trip.

    Returns their replies in order. `scripts` maps the SHA1 of every script the commands call
    by EVALSHA to its source. Connection errors propagate; error replies other than NOSCRIPT
    and cluster redirects are raised after every reply has been read.
    """
    groups: dict[Any, list[int]] = {}
    if isinstance(client, RedisCluster):
        _topology(client).refresh_if_needed()
        for i, (key, _) in enumerate(commands):
            node = client.get_node_from_key(key)  # type: ignore[no-untyped-call]
            groups.setdefault(node.redis_connection.connection_pool, []).append(i)
    else:
        groups[client.connection_pool] = list(range(len(commands)))

    replies: list[Any] = [None] * len(commands)
    taken = []
    try:
        for pool, indexes in groups.items():
            conn = _own_connection(pool)
            taken.append((pool, conn, indexes))
            conn.send_packed_command(_pack([commands[i][1] for i in indexes], conn))
        for _, conn, indexes in taken:
            for i in indexes:
                try:
                    replies[i] = conn.read_response()
                except ResponseError as exc:  # a whole error reply: the stream stays in step
                    replies[i] = exc
    except BaseException as exc:
        # A half-read reply must never reach the next use of these connections.
        for pool, conn, _ in taken:
            conn.disconnect()
            _forget(pool)
        if isinstance(client, RedisCluster) and isinstance(exc, ConnectionError | TimeoutError):
            _topology(client).failed()
        raise

    for i, reply in enumerate(replies):
        if isinstance(reply, _RESENT):
            replies[i] = _resend(client, commands[i][1], scripts)
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def sha1(script: str) -> str:
    """What EVALSHA names a script by (computed here: no round trip to register it)."""
    return hashlib.sha1(script.encode()).hexdigest()


class _Connections(threading.local):
    """Each thread's own connection to each server it talks to on the hot paths.

    Checking a connection out of redis-py's pool and back costs a lock, a fork check and its
    telemetry hooks on every request: a fifth of the decision's client-side CPU when measured.
    A gunicorn thread handles one request at a time, so it keeps the connection it checked
    out until it ends (or an error drops it), and the pool's count stays right: a server that
    starts a thread per request gives each one back when its thread ends.
    """

    def __init__(self) -> None:
        self.by_pool: dict[int, _Held] = {}


class _Held:
    __slots__ = ("conn", "pid", "pool")

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.pid = os.getpid()
        self.conn = pool.get_connection()

    def give_back(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and self.pid == os.getpid():  # never another process's pool
            self.pool.release(conn)

    def __del__(self) -> None:  # the thread ended: its thread-local values go
        # At interpreter exit the pool may be gone already.
        with contextlib.suppress(Exception):
            self.give_back()


_connections = _Connections()


def _own_connection(pool: Any) -> Any:
    held = _connections.by_pool.get(id(pool))
    if held is not None and held.pool is pool and held.pid == os.getpid():
        return held.conn
    held = _connections.by_pool[id(pool)] = _Held(pool)
    return held.conn


def _forget(pool: Any) -> None:
    held = _connections.by_pool.pop(id(pool), None)
    if held is not None:
        held.give_back()


def _pack(commands: list[Command], conn: Any) -> Any:
    if _pack_command is None:
        return conn.pack_commands(commands)
    # hiredis packs str, bytes, int and float itself: the per-argument encoding redis-py does
    # first was the other large share of the client's CPU here.
    return [b"".join([_pack_command(command) for command in commands])]


def _resend(client: RedisClient, command: Command, scripts: Mapping[str, str]) -> Any:
    try:
        return client.execute_command(*command)  # type: ignore[no-untyped-call]
    except NoScriptError:
        if command[0] != "EVALSHA":
            raise
        return client.execute_command("EVAL", scripts[command[1]], *command[2:])  # type: ignore[no-untyped-call]


class _Topology:
    """When a cluster client's slot map should be reloaded: after a node failed to answer, at
    most once per REFRESH_EVERY_S (a dead node must not make every request ask)."""

    REFRESH_EVERY_S = 1.0

    def __init__(self, client: RedisCluster) -> None:
        self._client = weakref.ref(client)
        self._lock = threading.Lock()
        self._failed = False
        self._refreshed_at = -self.REFRESH_EVERY_S

    def failed(self) -> None:
        self._failed = True

    def refresh_if_needed(self) -> None:
        if not self._failed or time.monotonic() - self._refreshed_at < self.REFRESH_EVERY_S:
            return
        with self._lock:
            if not self._failed:
                return
            self._refreshed_at = time.monotonic()
            client = self._client()
            if client is not None:
                client.nodes_manager.initialize()
            self._failed = False


_topologies: weakref.WeakKeyDictionary[RedisCluster, _Topology] = weakref.WeakKeyDictionary()
_topologies_lock = threading.Lock()


def _topology(client: RedisCluster) -> _Topology:
    topology = _topologies.get(client)
    if topology is None:
        with _topologies_lock:
            topology = _topologies.setdefault(client, _Topology(client))
    return topology
