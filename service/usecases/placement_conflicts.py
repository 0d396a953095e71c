"""The running experiments that take an experiment's placement first, for the editor and the
Start confirmation (service/domain/placement_conflicts.py says how)."""

from __future__ import annotations

from datetime import timedelta

from service.domain.dry_run import DEFAULT_DAYS, reach
from service.domain.placement_conflicts import Conflict, Contender, conflicts
from service.domain.placement_order import ON_PLACEMENT
from service.domain.targeting import in_schedule
from service.store.sql.decision_log_repo import DecisionLogRepo
from service.wiring import Services

# The newest samples are plenty for a share: a page view, not an estimate of duration.
SAMPLE_LIMIT = 20_000


def placement_conflicts(svc: Services, contender: Contender) -> tuple[Conflict, ...]:
    """From the placement's sampled decisions of the dry run's default window when there are
    any (and the contender parses), else from configuration alone."""
    running = [s.experiment for s in svc.experiments.find(ON_PLACEMENT)]
    by_configuration = conflicts(contender, running, None)
    candidate = contender.experiment
    if not by_configuration or candidate is None:
        return by_configuration
    end = svc.clock()
    window = DecisionLogRepo(svc.engine).window(
        contender.placement.value, end - timedelta(days=DEFAULT_DAYS), end, SAMPLE_LIMIT
    )
    others = [e for e in running if e.placement == candidate.placement and in_schedule(e, end)]
    found = reach(candidate, window.samples, others)
    if found is None or not found.targeted_share:
        return by_configuration  # no sampled reader to measure on: configuration says it all
    return conflicts(contender, running, found)
