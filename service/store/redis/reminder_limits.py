"""Rate limits of e-mail reminder sign-ups: a fixed window per client address and one per
e-mail address (its keyed hash), counted in one atomic step per key as dashboard logins are
(store/redis/login_throttle.py). Each key has its own cluster slot, so each is its own call.
"""

from __future__ import annotations

from service.store.redis.client import RedisClient
from service.store.redis.keys import Keys

# INCR and the window's start in one step (a crash between two commands would leave a count
# that never expires), returning the count and the seconds left in the window.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {n, redis.call('TTL', KEYS[1])}
"""


class ReminderLimits:
    def __init__(self, client: RedisClient, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def count_client(self, client_ip: str, window_seconds: int) -> tuple[int, int]:
        """Count one sign-up of the client: (sign-ups in the window, seconds left in it).
        Raises REDIS_ERRORS."""
        return self._count(self._keys.reminder_signups_by_client(client_ip), window_seconds)

    def count_email(self, email_hash: str, window_seconds: int) -> tuple[int, int]:
        return self._count(self._keys.reminder_signups_by_email(email_hash), window_seconds)

    def _count(self, key: str, window_seconds: int) -> tuple[int, int]:
        count, ttl = self._redis.eval(_COUNT, 1, key, window_seconds)
        return int(count), max(1, int(ttl))
