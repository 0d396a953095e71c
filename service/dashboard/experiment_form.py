"""The experiment editor's form: field names are the document's own field paths
(`variants[1].banner.heading`), so a validation error lands beside the input it names.

A form is a flat mapping of those names to strings (lists for checkbox groups). This module
turns it into a document for `parse_experiment`, and a document back into form values. Values
that do not parse as what a field wants are passed on as typed, so validation names the field
("must be a number") instead of this module guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.dashboard import form_values

Value = str | list[str]
# Checkbox groups and tick boxes: absent from a submitted form when nothing is ticked.
MULTI = ("targeting.devices",)
VARIANT_MULTI = ("banner.payment_methods",)
FLAGS = ("analysis.sequential", "trust_client_conversions")
_SPLIT = re.compile(r"[\s,;]+")
_VARIANT_NAME = re.compile(r"variants\[([0-9]{1,3})\]\.")


def _number(raw: str) -> object:
    # What a JSON number could be: a 64-bit integer or a finite float. Anything else (NaN,
    # 400 digits, "١٢") goes on as text, and validation says the field must be a number.
    whole = form_values.integer(raw)
    if whole is not None:
        return whole
    value = form_values.decimal(raw)
    return value if value is not None else raw.strip()


def _words(raw: str) -> list[object]:
    return [part for part in _SPLIT.split(raw.strip()) if part]


def _numbers(raw: str) -> list[object]:
    return [_number(str(part)) for part in _words(raw)]


def _paragraphs(raw: str) -> list[str]:
    # A blank line separates paragraphs, as in every text editor staff already use.
    blocks = re.split(r"\n\s*\n", raw.replace("\r\n", "\n").strip())
    return [" ".join(block.split()) for block in blocks if block.strip()]


def _moment(raw: str) -> object:
    text = raw.strip()
    # <input type=datetime-local> sends 2026-12-01T09:30; the form says the time is UTC.
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?", text):
        return text + ("Z" if text.count(":") == 2 else ":00Z")
    return text


def _text(raw: str) -> object:
    return raw.strip()


def _optional_text(raw: str) -> object:
    return raw.strip() or None


@dataclass(frozen=True)
class Spec:
    name: str
    parse: Callable[[str], object]
    nullable: bool = False  # blank means null rather than "use the default"
    # The editor lists the targeting inputs from TARGETING_INPUTS, so a new targeting field
    # is one line here rather than one more in the template: its label, help and attributes.
    label: str = ""
    help: str = ""
    attrs: Mapping[str, object] = field(default_factory=dict)


TARGETING_INPUTS: tuple[Spec, ...] = (
    Spec(
        "targeting.countries",
        lambda raw: [str(w).upper() for w in _words(raw)],
        label="Countries",
        help="ISO codes separated by commas, e.g. US, GB. Empty: everywhere.",
    ),
    Spec(
        "targeting.languages",
        _words,
        label="Languages",
        help="ISO 639 codes, e.g. en, es. Empty: any.",
    ),
    Spec(
        "targeting.sections",
        _words,
        label="Only in sections",
        help="Section slugs. Empty: every section.",
    ),
    Spec("targeting.exclude_sections", _words, label="Never in sections", help="e.g. obituaries"),
    Spec(
        "targeting.tags",
        _words,
        label="Articles tagged",
        help="Tag slugs; the article needs one of them. Empty: any.",
    ),
    Spec(
        "targeting.min_article_views",
        _number,
        label="Minimum articles read (30 days)",
        attrs={"type": "number", "min": 0},
    ),
)


_TOP: tuple[Spec, ...] = (
    Spec("key", _text),
    Spec("name", _text),
    Spec("placement", _text),
    Spec("priority", _number),
    Spec("start_at", _moment, nullable=True),
    Spec("end_at", _moment, nullable=True),
    Spec("traffic", _number),
    Spec("holdout", _number),
    *TARGETING_INPUTS,
    Spec("targeting.audience", _text),
    Spec("caps.max_impressions", _number, nullable=True),
    Spec("caps.per_days", _number),
    Spec("caps.min_hours_between", _number),
    Spec("snooze_hours.remind_later", _number),
    Spec("snooze_hours.close", _number),
    Spec("snooze_hours.already_donated", _number),
    Spec("attribution_days", _number),
    Spec("allocation", _text),
    Spec("bandit.floor", _number),
    Spec("bandit.min_visitors", _number),
    Spec("bandit.min_conversions", _number),
    Spec("bandit.cadence_minutes", _number),
    Spec("seed", _text),
    Spec("analysis.primary_metric", _text),
    Spec("analysis.alpha", _number),
    Spec("analysis.revenue_cap", _number, nullable=True),
    Spec("analysis.currency", lambda raw: raw.strip().upper()),
)
_VARIANT: tuple[Spec, ...] = (
    Spec("key", _text),
    Spec("weight", _number),
    Spec("banner.template", _text),
    Spec("banner.heading", _text),
    Spec("banner.paragraphs", _paragraphs),
    Spec("banner.highlight", _optional_text, nullable=True),
    Spec("banner.cta.label", _text),
    Spec("banner.cta.url", _text),
    Spec("banner.amounts.currency", lambda raw: raw.strip().upper()),
    Spec("banner.amounts.one_off", _numbers),
    Spec("banner.amounts.monthly", _numbers),
    Spec("banner.amounts.annual", _numbers),
    Spec("banner.amounts.default_frequency", _text),
    Spec("banner.remind_later_label", _optional_text, nullable=True),
)
TOP_FIELDS = frozenset([*(s.name for s in _TOP), *MULTI, *FLAGS])
VARIANT_FIELDS = frozenset([*(s.name for s in _VARIANT), *VARIANT_MULTI])


@dataclass
class FormState:
    """What the editor shows: top-level values, one mapping per variant, and errors keyed the
    same way (variant errors by their path inside the variant)."""

    top: dict[str, Value] = field(default_factory=dict)
    variants: list[dict[str, Value]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    variant_errors: list[dict[str, str]] = field(default_factory=list)
    other_errors: dict[str, str] = field(default_factory=dict)

    def error_count(self) -> int:
        return len(self.errors) + sum(map(len, self.variant_errors)) + len(self.other_errors)


def from_form(form: Any) -> FormState:
    """Read a submitted form (a werkzeug MultiDict or anything with get/getlist)."""
    top: dict[str, Value] = {name: form.get(name, "") for name in TOP_FIELDS - {*MULTI, *FLAGS}}
    for name in MULTI:
        top[name] = list(form.getlist(name))
    for name in FLAGS:
        top[name] = "on" if form.get(name) else ""
    # ASCII digits, at most three: int() takes Arabic-Indic digits and gives up past 4,300.
    indexes = sorted({int(m.group(1)) for name in form for m in [_VARIANT_NAME.match(name)] if m})
    variants = []
    for i in indexes:
        values: dict[str, Value] = {
            name: form.get(f"variants[{i}].{name}", "") for name in VARIANT_FIELDS
        }
        for name in VARIANT_MULTI:
            values[name] = list(form.getlist(f"variants[{i}].{name}"))
        variants.append(values)
    return FormState(top, variants, variant_errors=[{} for _ in variants])


def to_document(state: FormState) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    _fill(doc, state.top, _TOP)
    for name in MULTI:
        _put(doc, name, list(state.top.get(name) or []))
    for name in FLAGS:
        _put(doc, name, bool(state.top.get(name)))
    doc["variants"] = [variant_document(values) for values in state.variants]
    return doc


def variant_document(values: Mapping[str, Value]) -> dict[str, Any]:
    variant: dict[str, Any] = {}
    _fill(variant, values, _VARIANT)
    _put(variant, "banner.payment_methods", list(values.get("banner.payment_methods") or []))
    amounts = variant["banner"].get("amounts", {})
    # No currency and no amounts: the banner asks without suggesting amounts.
    if not amounts.get("currency") and not any(
        amounts.get(f) for f in ("one_off", "monthly", "annual")
    ):
        variant["banner"]["amounts"] = None
    return variant


def _fill(target: dict[str, Any], values: Mapping[str, Value], specs: Sequence[Spec]) -> None:
    for spec in specs:
        raw = values.get(spec.name, "")
        raw = raw if isinstance(raw, str) else ",".join(raw)
        if not raw.strip():
            if spec.nullable:
                _put(target, spec.name, None)
            elif spec.parse in (_words, _numbers, _paragraphs) or spec.name.endswith("countries"):
                _put(target, spec.name, [])
            elif spec.name.startswith("banner.amounts.") or spec.name in _REQUIRED:
                _put(target, spec.name, "")
            continue  # left blank: the document's default applies
        _put(target, spec.name, spec.parse(raw))


# Blank required fields are sent as "" so validation says "required" beside them.
_REQUIRED = frozenset(
    {
        "key",
        "name",
        "placement",
        "banner.template",
        "banner.cta.label",
        "banner.cta.url",
        "banner.heading",
    }
)


def _put(target: dict[str, Any], dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def from_document(doc: Mapping[str, Any]) -> FormState:
    top: dict[str, Value] = {name: _show(_get(doc, name)) for name in TOP_FIELDS - set(MULTI)}
    for name in MULTI:
        top[name] = [str(v) for v in _get(doc, name) or []]
    for name in FLAGS:
        top[name] = "on" if _get(doc, name) else ""
    variants = []
    for raw in doc.get("variants", []):
        values: dict[str, Value] = {name: _show(_get(raw, name)) for name in VARIANT_FIELDS}
        values["banner.paragraphs"] = "\n\n".join(_get(raw, "banner.paragraphs") or [])
        values["banner.payment_methods"] = [
            str(v) for v in _get(raw, "banner.payment_methods") or []
        ]
        variants.append(values)
    return FormState(top, variants, variant_errors=[{} for _ in variants])


def _get(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(part)
    return doc


def _show(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "on"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", text):
        return text[:16]  # what <input type=datetime-local> shows
    return text


def place_errors(state: FormState, errors: Mapping[str, str]) -> None:
    """Attach each validation error to the input it names: the nearest enclosing field, so
    `variants[0].banner.amounts.monthly[2]` lands on the monthly amounts input."""
    for path, message in errors.items():
        match = re.fullmatch(r"variants\[(\d+)\](?:\.(.+))?", path)
        if match and int(match.group(1)) < len(state.variants):
            index, inner = int(match.group(1)), match.group(2) or ""
            name = _enclosing(inner, VARIANT_FIELDS)
            target = state.variant_errors[index]
            target.setdefault(name or "", message)
            continue
        name = _enclosing(path, TOP_FIELDS)
        if name:
            state.errors.setdefault(name, message)
        else:
            state.other_errors.setdefault(path or "document", message)


def _enclosing(path: str, names: frozenset[str]) -> str | None:
    candidate = path
    while candidate:
        if candidate in names:
            return candidate
        candidate = re.sub(r"(\[\d+\]|\.[^.\[\]]+)$", "", candidate)
        if candidate == path:
            break
        path = candidate
    return None
