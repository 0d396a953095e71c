"""The experiment editor's form: field names are the document's own field paths
(`variants[1].banner.heading`), so a validation error lands beside the input it names.

A form is a flat mapping of those names to strings (lists for checkbox groups). This module
turns it into a document for `parse_experiment`, and a document back into form values. Values
that do not parse as what a field wants are passed on as typed, so validation names the field
("must be a number") instead of this module guessing. The fields, and how each is read, come
from the document's JSON Schema, so a field added to the document is a field of the form.

A list of objects (a reminder offer's choices) is drawn as rows, up to its maxItems: each
field of row j is named `<list>[j].<field>` (`variants[0].banner.reminder.choices[1].label`),
so an error on one item lands on its input too, and a row left blank is no item. Where an
item takes exactly one of several fields (ONE_OF), the row has a select, `<list>[j].kind`,
that picks which one the document gets.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.dashboard import form_values
from service.schemas.experiment import Experiment

Value = str | list[str]
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


def _upper(raw: str) -> object:
    return raw.strip().upper()


# Fields read other than as their JSON type says.
_READERS: dict[str, Callable[[str], object]] = {
    "targeting.countries": lambda raw: [str(w).upper() for w in _words(raw)],
    "analysis.currency": _upper,
    "banner.amounts.currency": _upper,
    "banner.paragraphs": _paragraphs,
}
# Left blank, these are sent as "" (an error beside them) rather than left to a default: a
# heading is required by a rule across fields, and the frequency is a select, never blank.
_BLANK_IS_EMPTY = frozenset({"banner.heading", "banner.amounts.default_frequency"})
_OMIT = object()  # left blank: the document's default applies

# Lists of objects whose items take exactly one of these fields: the row's kind select picks
# it (its options in this order), and a boolean among them is true by being picked.
ONE_OF: dict[str, tuple[str, ...]] = {
    "banner.reminder.choices": ("in_days", "next_month", "on"),
}
# What "remind me later" does, a select named after the offer itself (so an error on the
# offer as a whole lands on it): a plain snooze (no offer) or an e-mail reminder.
REMINDER_MODE = "banner.reminder"
REMINDER_MODES = ("snooze", "email")
_ROW = re.compile(r"(.+)\[([0-9]+)\]\.([^.\[\]]+)")


@dataclass(frozen=True)
class Input:
    """How one document field is read from the form."""

    name: str
    read: Callable[[Any], object]  # form text, or the ticked values, to the document's value
    blank: object  # what a blank input sends: _OMIT, None, "" or [] (a fresh list each time)
    kind: str = "text"  # or "ticks" (a checkbox group) or "flag" (one tick box)
    options: tuple[str, ...] = ()  # a select's or a checkbox group's choices


def _input(name: str, schema: dict[str, Any], required: bool) -> Input:
    nullable = {"type": "null"} in schema.get("anyOf", [])
    schema = schema.get("anyOf", [schema])[0]
    kind, items = schema.get("type"), schema.get("items", {})
    if kind == "boolean":
        return Input(name, bool, False, "flag")
    if kind == "array" and "enum" in items and name not in _READERS:
        return Input(name, list, [], "ticks", tuple(items["enum"]))
    read: Callable[[str], object]
    if kind == "array":
        read = _numbers if items.get("type") in ("number", "integer") else _words
    elif kind in ("number", "integer"):
        read = _number
    else:
        read = _moment if schema.get("format") == "date-time" else _text
    empty = required or name in _BLANK_IS_EMPTY
    blank = None if nullable else [] if kind == "array" else "" if empty else _OMIT
    return Input(name, _READERS.get(name, read), blank, options=tuple(schema.get("enum", ())))


def _inputs(model: dict[str, Any], skip: Sequence[str] = (), prefix: str = "") -> Iterator[Input]:
    """The document's fields under `model` (a JSON Schema object), nested objects flattened."""
    for name, schema in model["properties"].items():
        refs = [s["$ref"] for s in [schema, *schema.get("anyOf", [])] if "$ref" in s]
        if name in skip:
            continue
        if refs:
            yield from _inputs(_DEFS[refs[0].rsplit("/", 1)[1]], prefix=f"{prefix}{name}.")
        elif "$ref" in schema.get("items", {}):
            yield from _rows(f"{prefix}{name}", schema)
        else:
            yield _input(f"{prefix}{name}", schema, name in model.get("required", []))


def _rows(name: str, schema: dict[str, Any]) -> Iterator[Input]:
    """The inputs of a list of objects: one row per item it may hold."""
    item = _DEFS[schema["items"]["$ref"].rsplit("/", 1)[1]]
    picked = ONE_OF.get(name, ())
    for j in range(schema["maxItems"]):
        row = f"{name}[{j}]."
        if picked:
            yield Input(row + "kind", _text, _OMIT, options=picked)
        for field_name, field_schema in item["properties"].items():
            if field_name in picked and field_schema.get("type") == "boolean":
                continue  # true by being the row's kind
            yield _input(row + field_name, field_schema, field_name in item.get("required", []))


_SCHEMA = Experiment.model_json_schema()
_DEFS = _SCHEMA["$defs"]
# The status and a shipped winner are the lifecycle's, and variants are their own inputs.
_TOP = tuple(_inputs(_SCHEMA, skip=("status", "shipped", "variants")))
_VARIANT = tuple(_inputs(_DEFS["Variant"]))

TOP_FIELDS = frozenset(i.name for i in _TOP)
VARIANT_FIELDS = frozenset(i.name for i in _VARIANT) | {REMINDER_MODE}


def _error_targets(names: frozenset[str]) -> frozenset[str]:
    """Every name an error may land on: the fields, and each list and row of a list (the
    row's error shows beside its kind select, the list's above its rows)."""
    rows = (_ROW.fullmatch(name) for name in names)
    return names.union(*({m.group(1), f"{m.group(1)}[{m.group(2)}]"} for m in rows if m))


_TOP_TARGETS = _error_targets(TOP_FIELDS)
_VARIANT_TARGETS = _error_targets(VARIANT_FIELDS)
MAX_VARIANTS: int = _SCHEMA["properties"]["variants"]["maxItems"]
# The editor's selects and checkbox groups, by field name.
CHOICES = {i.name: i.options for i in (*_TOP, *_VARIANT) if i.options} | {
    REMINDER_MODE: REMINDER_MODES
}


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
    # ASCII digits, at most three: int() takes Arabic-Indic digits and gives up past 4,300.
    indexes = sorted({int(m.group(1)) for name in form for m in [_VARIANT_NAME.match(name)] if m})
    variants = [_read(form, _VARIANT, f"variants[{i}].") for i in indexes]
    for i, values in zip(indexes, variants, strict=True):
        mode = form.get(f"variants[{i}].{REMINDER_MODE}")
        if mode is not None:
            values[REMINDER_MODE] = mode
    return FormState(_read(form, _TOP), variants, variant_errors=[{} for _ in variants])


def _read(form: Any, inputs: Sequence[Input], prefix: str = "") -> dict[str, Value]:
    values: dict[str, Value] = {}
    for i in inputs:
        if i.kind == "ticks":  # absent from a submitted form when nothing is ticked
            values[i.name] = list(form.getlist(prefix + i.name))
        elif i.kind == "flag":
            values[i.name] = "on" if form.get(prefix + i.name) else ""
        else:
            values[i.name] = form.get(prefix + i.name, "")
    return values


def to_document(state: FormState, **fixed: str) -> dict[str, Any]:
    """The form's document, with the fields the view fixes (the status; a saved key)."""
    doc = {**_document(state.top, _TOP), **fixed}
    doc["variants"] = [variant_document(values) for values in state.variants]
    analysis = doc.get("analysis")
    if isinstance(analysis, dict) and analysis.get("engine") == "bayesian":
        # The always-valid box is labelled "frequentist statistics only", and a new
        # experiment starts with it ticked: picking Bayesian leaves it behind, unasked, rather
        # than refusing the form over a box that no longer applies. (The API refuses the
        # pair: a document is read as written.)
        analysis["sequential"] = False
    return doc


def variant_document(values: Mapping[str, Value]) -> dict[str, Any]:
    variant = _document(values, _VARIANT)
    amounts = variant["banner"].get("amounts", {})
    # No currency and no amounts: the banner asks without suggesting amounts.
    if not amounts.get("currency") and not any(
        amounts.get(f) for f in ("one_off", "monthly", "annual")
    ):
        variant["banner"]["amounts"] = None
    reminder = variant["banner"].get("reminder", {})
    mode = values.get(REMINDER_MODE)
    # "Snooze only", or (a form without the select) nothing filled in: no offer. The offer's
    # inputs keep what was typed, so switching back brings it back until the form is saved.
    if mode == "snooze" or (
        mode is None
        and not any(reminder.get(name) for name in ("choices", "consent", "privacy_url"))
    ):
        variant["banner"]["reminder"] = None
    return variant


def _document(values: Mapping[str, Value], inputs: Sequence[Input]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for i in inputs:
        if match := _ROW.fullmatch(i.name):
            _row_value(rows, match, i, values.get(i.name, ""))
            continue
        value = values.get(i.name, "")
        if i.kind != "text":
            _put(doc, i.name, i.read(value or []))  # the ticked values, or the box ticked
            continue
        raw = value if isinstance(value, str) else ",".join(value)
        if raw.strip():
            _put(doc, i.name, i.read(raw))
        elif i.blank is not _OMIT:
            _put(doc, i.name, copy.copy(i.blank))
    for name, items in rows.items():
        _put(doc, name, [_item(name, item) for _, item in sorted(items.items()) if _typed(item)])
    return doc


def _row_value(
    rows: dict[str, dict[int, dict[str, Any]]], match: re.Match[str], i: Input, value: Value
) -> None:
    name, index, field_name = match.group(1), int(match.group(2)), match.group(3)
    raw = value if isinstance(value, str) else ",".join(value)
    item = rows.setdefault(name, {}).setdefault(index, {})
    item[field_name] = i.read(raw) if raw.strip() else None


def _typed(item: Mapping[str, Any]) -> bool:
    """Whether the reader of the form typed anything in the row (its kind is always set)."""
    return any(value is not None for key, value in item.items() if key != "kind")


def _item(name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the document's item: its kind's field only, blank sent as "" so that the
    error names that input ("must be a number") rather than the row."""
    item = {k: ("" if v is None else v) for k, v in row.items() if k != "kind"}
    picked = ONE_OF.get(name, ())
    if picked:
        kind = str(row.get("kind")) if row.get("kind") in picked else picked[0]
        for other in picked:
            item.pop(other, None)
        # A boolean kind has no input (true by being picked); another sends its input's value.
        item[kind] = True if kind not in row else ("" if row[kind] is None else row[kind])
    return item


def _put(target: dict[str, Any], dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def from_document(doc: Mapping[str, Any]) -> FormState:
    variants = [_shown(raw, _VARIANT) for raw in doc.get("variants", [])]
    for raw, values in zip(doc.get("variants", []), variants, strict=True):
        values[REMINDER_MODE] = "email" if _get(raw, REMINDER_MODE) else "snooze"
    return FormState(_shown(doc, _TOP), variants, variant_errors=[{} for _ in variants])


def _shown(doc: Mapping[str, Any], inputs: Sequence[Input]) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for i in inputs:
        value = _get(doc, i.name)
        if (match := _ROW.fullmatch(i.name)) and match.group(3) == "kind":
            item = _get(doc, i.name.rsplit(".", 1)[0]) or {}
            set_fields = [k for k in i.options if item.get(k) not in (None, False)]
            values[i.name] = set_fields[0] if set_fields else i.options[0]
        elif i.kind == "ticks":
            values[i.name] = [str(v) for v in value or []]
        elif i.read is _paragraphs:
            values[i.name] = "\n\n".join(value or [])
        else:
            values[i.name] = _show(value)
    return values


def _get(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        name, _, index = part.partition("[")
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(name)
        if index:  # an item of a list: choices[1]
            position = int(index.rstrip("]"))
            doc = doc[position] if isinstance(doc, list) and position < len(doc) else None
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
            name = _enclosing(inner, _VARIANT_TARGETS)
            state.variant_errors[index].setdefault(name or "", message)
            continue
        name = _enclosing(path, _TOP_TARGETS)
        if name:
            state.errors.setdefault(name, message)
        else:
            state.other_errors.setdefault(path or "document", message)


def _enclosing(path: str, names: frozenset[str]) -> str | None:
    while path not in names:
        shorter = re.sub(r"(\[\d+\]|\.[^.\[\]]+)$", "", path)
        if shorter == path:  # nothing left to take off
            return None
        path = shorter
    return path
