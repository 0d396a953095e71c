"""Device class from a User-Agent, for targeting by device.

A short rule list is enough for three classes and costs microseconds on the hot path: tablets
first (iPad, Android without "Mobile", generic "Tablet"), then phones, else desktop.
"""

from __future__ import annotations

import re

from service.domain.experiment import Device

_TABLET = re.compile(r"iPad|Tablet|PlayBook|Silk|Kindle|Android(?!.*Mobile)", re.IGNORECASE)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|Opera Mini", re.I)


def device_from_user_agent(user_agent: str) -> Device:
    if _TABLET.search(user_agent):
        return Device.tablet
    if _MOBILE.search(user_agent):
        return Device.mobile
    return Device.desktop
