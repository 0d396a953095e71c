"""Every Redis key the service uses is built here, and nowhere else.

Conventions:
- All keys start with the configured prefix, so several installs can share one Redis.
- Per-visitor keys put the visitor inside a hash tag (`{v:<id>}`) so that everything about one
  visitor lands in one Redis Cluster slot and can be touched by one pipeline or script.
- The event pipeline's keys (stream, dedupe marks, live counters, unique-visitor counts) share
  the `{events}` hash tag, so one script can touch them atomically on one node.
- Every key carries a TTL or is trimmed, with one exception: the config version, a single
  number that every process's cache watches (config_version.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    def config_version(self) -> str:
        """INCR'd on every experiment change; decision caches reload when it moves."""
        return f"{self.prefix}:config:version"

    def ledger(self, visitor: str) -> str:
        """Hash of everything the service remembers about one visitor (sliding TTL)."""
        return f"{self.prefix}:{{v:{visitor}}}:ledger"

    def visitor_pattern(self, visitor: str) -> str:
        """Every key of one visitor's slot, for erasure."""
        return f"{self.prefix}:{{v:{visitor}}}:*"

    def events_stream(self) -> str:
        """Accepted events (and sampled decisions, k=decision) waiting for the flusher;
        trimmed by the flusher once written."""
        return f"{self.prefix}:{{events}}:stream"

    def events_dead_letter(self) -> str:
        """Stream entries the flusher could not parse or store, kept for a person to inspect
        (capped with MAXLEN by the flusher)."""
        return f"{self.prefix}:{{events}}:dead-letter"

    def event_seen(self, event_id: str) -> str:
        """Dedupe mark of one accepted event id (TTL: DEDUPE_TTL_HOURS)."""
        return f"{self.prefix}:{{events}}:seen:{event_id}"

    def live_counters(self, experiment: str, day: str) -> str:
        """Hash of today's counts per variant and event type (TTL: a few days)."""
        return f"{self.prefix}:{{events}}:live:{experiment}:{day}"

    def live_visitors(self, experiment: str, variant: str, day: str) -> str:
        """HyperLogLog of the day's distinct visitors with an impression (TTL: a few days)."""
        return f"{self.prefix}:{{events}}:hll:{experiment}:{variant}:{day}"

    def rate_limit(self, client_ip: str) -> str:
        """Requests of one client IP in the current window (TTL: the window)."""
        return f"{self.prefix}:{{events}}:rate:{client_ip}"

    def login_attempts(self, scope: str) -> str:
        """Failed dashboard logins for one client address or one e-mail digest in the current
        window (TTL: the window)."""
        return f"{self.prefix}:login:{scope}"
