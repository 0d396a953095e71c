"""Frequency caps and snoozes: when a reader has seen enough of an ask for now."""

from __future__ import annotations

from service.domain.experiment import Experiment
from service.domain.ledger import Ledger

_HOUR = 3600.0
_DAY = 86_400.0


def snoozed(ledger: Ledger, placement: str, now: float) -> bool:
    return ledger.snoozed_until.get(placement, 0.0) > now


def capped(experiment: Experiment, ledger: Ledger, now: float) -> bool:
    """Max impressions per rolling window, and a minimum gap between impressions."""
    times = ledger.impressions.get(experiment.key, ())
    if not times:
        return False
    caps = experiment.caps
    if caps.min_hours_between > 0 and now - max(times) < caps.min_hours_between * _HOUR:
        return True
    if caps.max_impressions is not None:
        window_start = now - caps.per_days * _DAY
        recent = sum(1 for t in times if t > window_start)
        if recent >= caps.max_impressions:
            return True
    return False
