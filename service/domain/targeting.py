"""Targeting rules: does an experiment apply to this page view?

The page rules are objects built with the experiment (service/domain/targeting_rules.py),
checked in a fixed order; the first that fails is named, so that `debug=1` can tell staff
exactly why a reader was not targeted.
"""

from __future__ import annotations

from datetime import datetime

from service.domain.experiment import Audience, Experiment
from service.domain.page_context import PageContext


def in_schedule(experiment: Experiment, now: datetime) -> bool:
    if experiment.start_at is not None and now < experiment.start_at:
        return False
    return experiment.end_at is None or now < experiment.end_at


def first_failed_rule(experiment: Experiment, ctx: PageContext) -> str | None:
    """The name of the first page rule that fails, or None. Audience is checked separately
    (audience_rule) because it depends on the visitor's ledger."""
    for rule in experiment.targeting.page_rules:
        if not rule.passes(ctx):
            return rule.name
    return None


def audience_rule(experiment: Experiment, supporter: bool) -> str | None:
    audience = experiment.targeting.audience
    if audience == Audience.non_supporters and supporter:
        return "audience"
    if audience == Audience.supporters and not supporter:
        return "audience"
    return None
