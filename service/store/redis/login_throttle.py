"""Dashboard login attempts: a fixed window per client address and per e-mail.

Per address stops one machine guessing many accounts; per e-mail stops many machines guessing
one. An attempt is counted before its password is checked, in one atomic step per key (INCR,
and the window's expiry when it starts), and the password is checked only if both counts are
within their limits. Reading first and counting after the check let parallel guesses all read
the same low count: 60 at once got 19 checks against a limit of 10.

The two keys are in different cluster slots, so each gets its own script; both are counted
whatever the other says, so a blocked address still uses up the e-mail's allowance. A
successful login resets the e-mail's count and takes its own attempt back from the address.

When Redis is away the throttle lets attempts through (scrypt still makes each guess slow):
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

# INCR and the window's start in one step: Redis 6.2 has no EXPIRE NX, and a separate EXPIRE
# after a crash would leave a count that never expires (hence also the TTL check).
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
"""
# Take one attempt back, but never create a key (it would have no expiry).
_UNCOUNT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class LoginThrottle:
    def __init__(self, client: RedisClient, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def _address_key(self, address: str) -> str:
        return self._keys.login_attempts(f"ip:{address}")

    def _email_key(self, email: str) -> str:
        # The e-mail is hashed so the key space does not list who tried to log in.
        normalised = email.strip().lower().encode("utf-8", "surrogatepass")
        return self._keys.login_attempts(f"email:{hashlib.sha256(normalised).hexdigest()[:32]}")

    def admit(self, address: str, email: str) -> bool:
        """Count one attempt; True if its password may be checked. Call before checking."""
        try:
            by_address = self._count(self._address_key(address))
            by_email = self._count(self._email_key(email))
        except REDIS_ERRORS as exc:
            log.warning("login throttle unavailable, allowing the attempt: %s", exc)
            return True
        return by_address <= MAX_PER_ADDRESS and by_email <= MAX_PER_EMAIL

    def _count(self, key: str) -> int:
        return int(self._redis.eval(_COUNT, 1, key, WINDOW_SECONDS))

    def succeeded(self, address: str, email: str) -> None:
        """After a correct password: the e-mail starts afresh; the address keeps its count of
        other attempts (it may have guessed at other accounts) but not this one."""
        try:
            self._redis.delete(self._email_key(email))
            self._redis.eval(_UNCOUNT, 1, self._address_key(address))
        except REDIS_ERRORS as exc:
            log.warning("login throttle not reset: %s", exc)
