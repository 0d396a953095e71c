"""Why no banner: sampled decisions per day and per outcome, estimated to full counts; a
visitor lookup (the decision one reader would get now, and the rule that ruled each experiment
out: the trace `?sf_debug=1` shows); and the editor's dry-run panel, which re-renders the
editor with the estimate.

The panel sits inside the editor's form, and its button posts that whole form here
(`formaction`), so the estimate is for the experiment as edited (saved or not), and the
editor comes back with every unsaved change still in place.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, g, render_template, request

from service.dashboard import form_values
from service.dashboard.auth import login_required
from service.dashboard.experiment_form import FormState, from_form, to_document
from service.dashboard.views_editor import load, render_editor
from service.domain.decision_log import OUTCOMES
from service.domain.decision_trace import Explanation
from service.domain.errors import ValidationFailed
from service.domain.experiment import Device, Experiment, Placement
from service.domain.page_context import PageContext
from service.domain.roles import Role
from service.schemas.decision import PAGE_SIGNALS, VISITOR, read_page_signals
from service.schemas.dry_run import parse_request
from service.schemas.experiment import parse_experiment
from service.store.redis.client import REDIS_ERRORS
from service.store.sql.decision_log_repo import DecisionLogRepo, OutcomeCount
from service.usecases.dry_run import estimate
from service.usecases.explain_decision import explain_for_visitor
from service.web import services
from service.wiring import Services

log = logging.getLogger(__name__)
DEFAULT_RANGE_DAYS = 14
# Fewer sampled decisions than this and the page says its figures are rough.
FEW_SAMPLES = 100
LOOKUP_FIELDS = (
    "visitor",
    "visitor_placement",
    "country",
    "device",
    # The page's own signals, as a page sends them to GET /v1/decision (what targeting reads).
    *PAGE_SIGNALS,
)
# How the lookup's errors name the page signals' fields (the form's labels).
SIGNAL_LABELS = {
    "lang": "Language",
    "section": "Section",
    "tags": "Tags",
    "article_views": "Articles read",
    "supporter": "Supporter",
}
MAX_RANGE_DAYS = 366
PANEL_FIELDS = ("minimum_effect", "baseline", "baseline_sd", "days")


@dataclass
class Tally:
    """Estimated decisions per outcome, with their total."""

    estimated: dict[str, float] = field(default_factory=dict)
    samples: int = 0

    @property
    def total(self) -> float:
        return sum(self.estimated.values())

    def add(self, row: OutcomeCount) -> None:
        self.estimated[row.outcome] = self.estimated.get(row.outcome, 0.0) + row.estimated
        self.samples += row.samples

    def share(self, outcome: str) -> float | None:
        total = self.total
        return self.estimated.get(outcome, 0.0) / total if total else None


def tabulate(
    rows: Sequence[OutcomeCount], start: date, end: date
) -> tuple[dict[str, Tally], list[tuple[date, Tally]]]:
    """Per placement ("" for all of them) over the range, and per day (newest first, every
    day of the range, empty ones too)."""
    placements: dict[str, Tally] = {"": Tally()}
    days = {start + timedelta(days=i): Tally() for i in range((end - start).days + 1)}
    for row in rows:
        placements[""].add(row)
        placements.setdefault(row.placement, Tally()).add(row)
        if row.day in days:
            days[row.day].add(row)
    return placements, sorted(days.items(), reverse=True)


def _range(args: Mapping[str, str], today: date) -> tuple[date, date, str | None, list[str]]:
    problems: list[str] = []
    end = _day(args.get("to"), today, "to", problems)
    start = _day(args.get("from"), end - timedelta(days=DEFAULT_RANGE_DAYS - 1), "from", problems)
    if start > end:
        problems.append("The range is empty: From is after To.")
        start, end = end - timedelta(days=DEFAULT_RANGE_DAYS - 1), end
    if (end - start).days >= MAX_RANGE_DAYS:
        problems.append(f"At most {MAX_RANGE_DAYS} days at once: showing the last of them.")
        start = end - timedelta(days=MAX_RANGE_DAYS - 1)
    placement = args.get("placement") or None
    if placement is not None and placement not in {p.value for p in Placement}:
        problems.append(f"Unknown placement {placement!r}: showing all.")
        placement = None
    return start, end, placement, problems


def _day(raw: str | None, default: date, name: str, problems: list[str]) -> date:
    if not raw:
        return default
    value = form_values.day(raw)
    if value is None:
        problems.append(
            f"{name!r} is not a date (YYYY-MM-DD) from {form_values.EARLIEST_DAY} to "
            f"{form_values.LATEST_DAY}: using {default.isoformat()}."
        )
        return default
    return value


@dataclass
class Lookup:
    """The visitor lookup form, as entered, and what it found."""

    form: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    explanation: Explanation | None = None
    unavailable: bool = False
    page: PageContext | None = None  # the page as the lookup read it

    @property
    def asked(self) -> bool:
        return bool(self.form["visitor"])


def look_up(args: Mapping[str, str], svc: Services) -> Lookup:
    form = {name: args.get(name, "").strip() for name in LOOKUP_FIELDS}
    found = Lookup(form)
    if not found.asked:
        return found
    if not VISITOR.fullmatch(form["visitor"]):
        found.errors["visitor"] = "8 to 64 characters of A-Z, a-z, 0-9, _ or -"
    if form["visitor_placement"] not in {p.value for p in Placement}:
        found.errors["visitor_placement"] = "choose a placement"
    country = form["country"].upper()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        found.errors["country"] = "a two-letter country code such as GB, or empty"
    if form["device"] not in {"", *(d.value for d in Device)}:
        found.errors["device"] = "choose a device"
    signals, wrong = read_page_signals(form)
    found.errors.update({name: f"{SIGNAL_LABELS[name]}: {why}" for name, why in wrong.items()})
    if found.errors:
        return found
    ctx = PageContext(
        visitor=form["visitor"],
        placement=Placement(form["visitor_placement"]),
        device=Device(form["device"] or Device.desktop),
        country=country or None,
        language=signals.get("lang"),
        section=signals.get("section"),
        tags=signals.get("tags", frozenset()),
        article_views=signals.get("article_views", 0),
        supporter=signals.get("supporter", False),
    )
    found.page = ctx
    try:
        found.explanation = explain_for_visitor(svc.experiment_cache, svc.ledger, ctx, svc.clock())
    except REDIS_ERRORS as exc:
        log.warning("visitor lookup without Redis: %s", exc)
        found.unavailable = True
    return found


def register(bp: Blueprint) -> None:
    @bp.get("/decisions")
    @login_required()
    def decisions() -> str:
        svc = services()
        start, end, placement, problems = _range(request.args, svc.clock().date())
        rows = DecisionLogRepo(svc.engine).summary(start, end, placement)
        placements, days = tabulate(rows, start, end)
        lookup = look_up(request.args, svc)
        return render_template(
            "dashboard/decisions.html",
            start=start,
            end=end,
            placement=placement,
            placements=[p.value for p in Placement],
            outcomes=OUTCOMES,
            by_placement=placements,
            days=days,
            problems=problems,
            sample_rate=svc.settings.decision_log_sample_rate,
            few_samples=FEW_SAMPLES,
            lookup=lookup,
            devices=[d.value for d in Device],
        )

    @bp.post("/experiments/<experiment_key:key>/dry-run")
    @login_required(Role.editor)
    def dry_run(key: str) -> str:
        stored = load(key)
        state = from_form(request.form)
        experiment, edited = _edited(state, stored.experiment)
        raw = {name: request.form.get(f"dry_run.{name}", "").strip() for name in PANEL_FIELDS}
        errors: dict[str, str] = {}
        body: dict[str, Any] = {}
        for name, value in raw.items():
            read = form_values.integer if name == "days" else form_values.decimal
            if value and (number := read(value)) is None:
                errors[name] = "a whole number" if name == "days" else "must be a number"
            elif value:
                body[name] = number
        result = None
        if not errors:
            try:
                checked = parse_request(body, experiment.analysis.primary_metric)
                result = estimate(services(), experiment, checked).as_dict()
            except ValidationFailed as exc:
                errors = exc.fields
        g.dry_run = {"form": raw, "errors": errors, "result": result, "edited": edited}
        revision = form_values.whole_number(request.form.get("revision"))
        return render_editor(state, stored=stored, revision=revision)


def _edited(state: FormState, saved: Experiment) -> tuple[Experiment, bool]:
    """The experiment as the form describes it, or the saved one if the form does not parse
    (the editor shows why when saving); True when it is the form's."""
    try:
        return parse_experiment(to_document(state, key=saved.key, status=str(saved.status))), True
    except ValidationFailed:
        return saved, False
