"""One line per experiment for the list page, read off its report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.domain.placement_conflicts import Conflict
from service.domain.report_model import Report
from service.store.sql.experiments_repo import StoredExperiment

# Below this many exposed visitors per variant a running test cannot say much yet.
LOW_TRAFFIC_VISITORS = 100


@dataclass(frozen=True)
class Overview:
    stored: StoredExperiment
    visitors: int
    conversion_rate: float | None
    revenue_per_visitor: float | None
    currency: str
    leader: str | None  # the variant ahead of control on the primary metric, if any
    leader_text: str
    warnings: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.stored.experiment.key


def overview(
    stored: StoredExperiment, report: Report, now: datetime, taken_by: Sequence[Conflict] = ()
) -> Overview:
    """taken_by: running experiments that take this one's placement first (configuration)."""
    experiment = stored.experiment
    variants = report.variants
    visitors = sum(v.visitors for v in variants)
    converters = sum(v.conversions for v in variants)
    revenue = sum(v.revenue or 0.0 for v in variants)
    ahead = [v for v in report.verdicts if v.status == "ahead"]
    waiting = [v for v in report.verdicts if v.status == "not_enough_data"]
    metric = report.primary_metric
    if experiment.status == "draft":  # never ran: nothing to say about its variants yet
        leader, leader_text = None, ""
    elif ahead:
        values = {v.key: v.metrics[metric].value for v in variants}
        best = max(ahead, key=lambda verdict: float(values.get(verdict.variant) or 0.0))
        leader, leader_text = best.variant, best.text
    elif waiting:  # the comparison furthest from its donors says how far there is to go
        leader, leader_text = None, min(waiting, key=lambda v: v.donors or 0).text
    elif len(variants) > 1 and visitors:
        leader, leader_text = None, "no variant is ahead of control yet"
    else:
        leader, leader_text = None, ""
    warnings = []
    if report.srm.mismatch:
        warnings.append("sample ratio mismatch: assignment looks broken")
    breached = [v.variant for v in report.verdicts if v.status == "guardrail"]
    if breached:
        warnings.append(f"guardrail breached by {', '.join(breached)}: review before shipping")
    if experiment.status == "running" and variants:
        thinnest = min(v.visitors for v in variants)
        if thinnest < LOW_TRAFFIC_VISITORS:
            warnings.append(f"low traffic: {thinnest} visitors in the smallest variant")
        if stored.started_at and visitors == 0 and (now - stored.started_at).total_seconds() > 3600:
            warnings.append("no exposed visitors since it started: is the snippet on the page?")
    for conflict in taken_by:
        tie = " (equal priority: its key sorts first)" if conflict.relation == "equal" else ""
        warnings.append(
            f"{conflict.experiment} (priority {conflict.priority}) takes "
            f"{experiment.placement} first{tie}"
        )
    return Overview(
        stored=stored,
        visitors=visitors,
        conversion_rate=converters / visitors if visitors else None,
        revenue_per_visitor=revenue / visitors if visitors else None,
        currency=report.currency,
        leader=leader,
        leader_text=leader_text,
        warnings=warnings,
    )
