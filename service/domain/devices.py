"""Device class from a User-Agent, for targeting by device.

A short rule list is enough for three classes and costs microseconds on the hot path: tablets
first (iPad, Android without "Mobile", generic "Tablet"), then phones, else desktop.
"""

from __future__ import annotations

import functools
import re

from service.domain.experiment import Device

_TABLET = re.compile(r"iPad|Tablet|PlayBook|Silk|Kindle|Android(?!.*Mobile)", re.IGNORECASE)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|Opera Mini", re.I)


def device_from_user_agent(user_agent: str) -> Device:
    # A few thousand User-Agents make most of a site's traffic: remembered, the two searches
    # are skipped. Long ones (made up, or an attacker's) are not kept, so the cache stays small.
    if len(user_agent) <= 512:
        return _cached(user_agent)
    return _classify(user_agent)


@functools.lru_cache(maxsize=4096)
def _cached(user_agent: str) -> Device:
    return _classify(user_agent)


def _classify(user_agent: str) -> Device:
    if _TABLET.search(user_agent):
        return Device.tablet
    if _MOBILE.search(user_agent):
        return Device.mobile
    return Device.desktop
