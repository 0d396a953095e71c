"""An experiment's reach, overlap and duration, estimated from the placement's sampled
decisions before it starts (service/domain/dry_run.py has the method)."""

from __future__ import annotations

from datetime import timedelta

from service.domain.dry_run import DryRun, DryRunRequest, dry_run
from service.domain.dry_run_power import HISTORY_DAYS
from service.domain.experiment import Experiment
from service.domain.placement_order import ON_PLACEMENT
from service.store.sql.decision_log_repo import DecisionLogRepo
from service.store.sql.placement_history import placement_history
from service.wiring import Services


def estimate(svc: Services, experiment: Experiment, checked: DryRunRequest) -> DryRun:
    """Read what the dry run needs (samples, running experiments, history) and run it."""
    end = svc.clock()
    start = end - timedelta(days=checked.days)
    placement = experiment.placement.value
    window = DecisionLogRepo(svc.engine).window(placement, start, end)
    running = [s.experiment for s in svc.experiments.find(ON_PLACEMENT)]
    analysis = experiment.analysis
    history = placement_history(
        svc.engine,
        placement,
        analysis.primary_metric,
        end - timedelta(days=HISTORY_DAYS),
        analysis.revenue_cap,
    )
    return dry_run(
        experiment,
        window.samples,
        running,
        checked,
        start=start,
        end=end,
        estimated_decisions=window.total_weight,
        total_samples=window.total_samples,
        first_sample_at=window.first_at,
        history=history,
    )
