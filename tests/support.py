"""Shared test helpers: a controllable clock and experiment documents."""

from __future__ import annotations

import copy
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis as redis_lib
from redis.cluster import RedisCluster
from sqlalchemy import Connection, insert


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def banner(
    heading: str = "…we have a small favor to ask", monthly: list[int] | None = None
) -> dict[str, Any]:
    return {
        "template": "epic",
        "heading": heading,
        "paragraphs": ["Our reporting is free to read because readers pay for it."],
        "highlight": "Support us with %%SELECTED_AMOUNT%% a month.",
        "cta": {"label": "Support us", "url": "https://example.org/donate"},
        "amounts": {
            "currency": "USD",
            "one_off": [5, 10, 25],
            "monthly": monthly or [2, 5, 10],
            "default_frequency": "monthly",
        },
        "payment_methods": ["card", "paypal"],
        "remind_later_label": "Not ready to support today? Remind me later.",
    }


def experiment_doc(key: str = "monthly-ask", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": key,
        "name": "Monthly ask: $2 vs $5",
        "placement": "article-end",
        "priority": 10,
        "targeting": {"countries": ["US", "GB"], "devices": ["mobile", "desktop"]},
        "variants": [
            {"key": "control", "weight": 50, "banner": banner()},
            {"key": "five-dollars", "weight": 50, "banner": banner(monthly=[5, 10, 20])},
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def free_port() -> int:
    """A TCP port nothing listens on right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[Any], timeout: float = 600) -> None:
    """Poll `url` until it answers 2xx; fail if the process exits or the time runs out (by
    default only a hung start: a busy machine can take over 30 s to start a server)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{url} did not answer in {timeout:.0f} s") from None
            time.sleep(0.2)


# Only ends a run that is stuck (a process hung, a condition that will never hold). A slow run
# on a busy machine never comes near it: tests wait on conditions, not on how long things take.
HUNG_AFTER_S = 600.0


def wait_for(
    condition: Callable[[], object],
    what: str,
    *,
    process: subprocess.Popen[Any] | None = None,
    poll_s: float = 0.01,
) -> None:
    """Poll until `condition()` is true. Fails at once if `process` exits first (its stderr
    in the message), and only after HUNG_AFTER_S otherwise, however busy the machine is."""
    hung_at = time.monotonic() + HUNG_AFTER_S
    while not condition():
        if process is not None and process.poll() is not None:
            err = process.stderr.read() if process.stderr else b""
            raise AssertionError(f"waiting for {what}: the process exited: {err!r}")
        assert time.monotonic() < hung_at, f"still waiting for {what} after {HUNG_AFTER_S} s"
        time.sleep(poll_s)


def stream_entries(client: Any, keys: Any) -> list[tuple[str, dict[str, str]]]:
    """Every entry waiting in the event streams (all partitions, and the stream of installs
    from before partitioning), oldest first."""
    names = [keys.events_stream(p) for p in range(keys.partitions)] + [keys.events_stream()]
    entries = [entry for name in names for entry in client.xrange(name)]
    return sorted(entries, key=lambda e: tuple(int(part) for part in e[0].split("-")))


def stream_length(client: Any, keys: Any) -> int:
    names = [keys.events_stream(p) for p in range(keys.partitions)] + [keys.events_stream()]
    return sum(int(client.xlen(name)) for name in names)


def live_counts(client: Any, keys: Any, experiment: str, day: str) -> dict[str, str]:
    """The day's live counters of an experiment, summed over the partitions."""
    total: dict[str, float] = {}
    for p in range(keys.partitions):
        for name, value in client.hgetall(keys.live_counters(p, experiment, day)).items():
            total[name] = total.get(name, 0) + float(value)
    return {name: f"{value:g}" for name, value in total.items()}


def redis_for_tests(url: str) -> redis_lib.Redis:
    """A client for `url` as the service would build one: a cluster client when `url` names
    a node of a Redis Cluster (TEST_REDIS_URL may), typed as the plain one tests use."""
    client = redis_lib.Redis.from_url(url, decode_responses=True)
    if url.startswith("unix://") or not client.info("cluster").get("cluster_enabled"):
        return client
    client.close()
    return RedisCluster.from_url(url, decode_responses=True)  # type: ignore[return-value]


def empty_redis(client: redis_lib.Redis) -> None:
    """FLUSHDB on the server, or on every primary of a cluster."""
    if isinstance(client, RedisCluster):
        client.flushdb(target_nodes=RedisCluster.PRIMARIES)
    else:
        client.flushdb()


class LoggedProcess(subprocess.Popen[bytes]):
    """A child whose stdout and stderr go to temporary files, not pipes. A pipe that nobody
    reads while the child runs fills at 64 KiB and then blocks the child's next write: a hang
    that shows only when the child logs a lot, as it does on a loaded machine. communicate()
    waits and reads the files back; output() reads them at any time."""

    def __init__(self, args: list[str], **kwargs: Any) -> None:
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 (the child writes it until it ends)
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        super().__init__(args, stdout=self._out, stderr=self._err, **kwargs)

    def communicate(
        self, input: bytes | None = None, timeout: float | None = None
    ) -> tuple[bytes, bytes]:
        self.wait(timeout=timeout)
        return self.output()

    def output(self) -> tuple[bytes, bytes]:
        """What the child wrote so far to stdout and to stderr."""
        return _read_back(self._out), _read_back(self._err)


def _read_back(file: Any) -> bytes:
    file.seek(0)
    data: bytes = file.read()
    return data


def insert_outcomes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Visitor outcomes written straight to SQL, with the report's kept sums following them
    as the flusher keeps them (store/sql/outcome_sums.py)."""
    from service.store.sql.event_tables import visitor_outcomes
    from service.store.sql.outcome_sums import RunningSums

    sums = RunningSums(conn.engine)
    pending = sums.before(conn, [(row["experiment_key"], row["visitor"]) for row in rows])
    conn.execute(insert(visitor_outcomes), rows)
    sums.after(conn, pending)


def insert_reminders(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """E-mail reminder rows written straight to SQL, as the sign-up endpoint and the sender
    leave them (address already cleared): each row gives experiment_key, variant_key, visitor
    and created_at, and any of confirmed_at, sent_at, clicked_at, qa, status."""
    import secrets

    from service.store.sql.delivery_tables import reminders

    filled = []
    for row in rows:
        created = row["created_at"]
        filled.append(
            {
                "id": secrets.token_urlsafe(16)[:32],
                "signup_key": secrets.token_hex(32),
                "placement": "article-end",
                "qa": False,
                "status": "sent" if row.get("sent_at") else "pending",
                "email_cipher": None,
                "email_hash": None,
                "remind_at": created + timedelta(days=14),
                "confirm_by": created + timedelta(days=3),
                "confirmed_at": None,
                "sent_at": None,
                "clicked_at": None,
                "unsubscribed_at": None,
                "attempts": 0,
                "claimed_by": None,
                "started_at": None,
                "next_attempt_at": None,
                "error": None,
                **row,
            }
        )
    conn.execute(insert(reminders), filled)


REMINDER_OFFER: dict[str, Any] = {
    "choices": [
        {"label": "In 2 weeks", "in_days": 14},
        {"label": "Next month", "next_month": True},
    ],
    "consent": "I agree to get one reminder e-mail.",
    "privacy_url": "https://example.org/privacy",
}
