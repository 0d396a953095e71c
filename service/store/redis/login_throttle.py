"""Failed-login counting for the dashboard: a fixed window per client address and per e-mail.

Per address stops one machine guessing many accounts; per e-mail stops many machines guessing
one. When Redis is away the throttle lets attempts through (scrypt still makes each guess slow):
locking every editor out because a cache is down would be the worse failure.
"""

from __future__ import annotations

import hashlib
import logging

from service.store.redis.client import REDIS_ERRORS, RedisClient
from service.store.redis.keys import Keys

log = logging.getLogger(__name__)

WINDOW_SECONDS = 15 * 60
MAX_PER_ADDRESS = 30
MAX_PER_EMAIL = 10


class LoginThrottle:
    def __init__(self, client: RedisClient, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def _scopes(self, address: str, email: str) -> list[tuple[str, int]]:
        # The e-mail is hashed so the key space does not list who tried to log in.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return [
            (self._keys.login_attempts(f"ip:{address}"), MAX_PER_ADDRESS),
            (self._keys.login_attempts(f"email:{digest}"), MAX_PER_EMAIL),
        ]

    def blocked(self, address: str, email: str) -> bool:
        scopes = self._scopes(address, email)
        # A pipeline, not MGET: on a cluster the two keys are in different slots.
        pipe = self._redis.pipeline(transaction=False)
        for key, _ in scopes:
            pipe.get(key)
        try:
            counts = pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("login throttle unavailable, allowing the attempt: %s", exc)
            return False
        return any(
            int(count or 0) >= limit for count, (_, limit) in zip(counts, scopes, strict=True)
        )

    def failed(self, address: str, email: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key, _ in self._scopes(address, email):
            # SET NX EX then INCR: the window starts at the first failure (Redis 6.2 has no
            # EXPIRE NX).
            pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
            pipe.incr(key)
        try:
            pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("login failure not counted: %s", exc)

    def succeeded(self, address: str, email: str) -> None:
        # Only the e-mail's count resets: an address that guessed others keeps its count.
        try:
            self._redis.delete(self._scopes(address, email)[1][0])
        except REDIS_ERRORS as exc:
            log.warning("login throttle not reset: %s", exc)
