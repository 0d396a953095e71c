"""Targeting rules: does an experiment apply to this page view?

Rules are checked in a fixed order and the first that fails is named, so that `debug=1` can
tell staff exactly why a reader was not targeted.
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
    t = experiment.targeting
    if t.countries and ctx.country not in t.countries:
        return "countries"
    if t.devices and ctx.device not in t.devices:
        return "devices"
    if t.languages and ctx.language not in t.languages:
        return "languages"
    if t.sections and ctx.section not in t.sections:
        return "sections"
    if ctx.section is not None and ctx.section in t.exclude_sections:
        return "exclude_sections"
    if t.tags and not ctx.tags.intersection(t.tags):
        return "tags"
    if ctx.article_views < t.min_article_views:
        return "min_article_views"
    return None


def audience_rule(experiment: Experiment, supporter: bool) -> str | None:
    audience = experiment.targeting.audience
    if audience == Audience.non_supporters and supporter:
        return "audience"
    if audience == Audience.supporters and not supporter:
        return "audience"
    return None
