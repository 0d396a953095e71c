"""GET /v1/decision's query string, declared once: the WSGI front validates with it
(service/api/public/decision_params.py) and the document lists its parameters from it.

Every value arrives as text; the validators read it the way the snippet writes it (flags as
1/0/true/false/yes/no, a comma-separated tag list, a full language tag of which only the
primary subtag is kept), while the document states the one form the snippet sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from service.domain.decision import Reason
from service.domain.experiment import Device, Placement, Template
from service.schemas.errors import absent, rule
from service.schemas.experiment import SnoozeHours

VISITOR = re.compile(r"[A-Za-z0-9_-]{8,64}")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:-[A-Za-z0-9]{1,8}){0,4}")
FORCE = re.compile(r"([a-z0-9][a-z0-9-]{1,39}):([a-z0-9][a-z0-9-]{0,23})")
# ASCII digits only: str.isdigit() and \d also take "²" and "١٢٣", which int() refuses or reads.
COUNT = re.compile(r"[0-9]{1,7}")
MAX_TAGS = 20
MAX_VIEWS = 1_000_000
MAX_LENGTH = {"url": 2048, "preview": 300, "tags": 1400}
DEFAULT_MAX_LENGTH = 256
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no", ""}


def _section(value: str) -> str:
    if not SLUG.fullmatch(value.lower()):
        raise rule("must be a slug of letters, digits, - or _")
    return value.lower()


def _tags(value: str) -> frozenset[str]:
    tags = frozenset(t.strip().lower() for t in value.split(",") if t.strip())
    if len(tags) > MAX_TAGS:
        raise rule(f"at most {MAX_TAGS} tags")
    if any(not SLUG.fullmatch(t) for t in tags):
        raise rule("each tag must be a slug of letters, digits, - or _")
    return tags


def _language(value: str) -> str:
    match = LANGUAGE.fullmatch(value)
    if match is None:
        raise rule("must be a language tag such as en or en-GB")
    return match.group(1).lower()


def _views(value: str) -> int:
    if COUNT.fullmatch(value) and int(value) <= MAX_VIEWS:
        return int(value)
    raise rule(f"must be a whole number from 0 to {MAX_VIEWS}")


def _flag(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise rule("must be 1 or 0")


def _device(value: str) -> Device:
    if value.lower() in Device._value2member_map_:
        return Device(value.lower())
    raise rule("must be one of " + ", ".join(Device))


def _force(value: str) -> tuple[str, str]:
    match = FORCE.fullmatch(value)
    if match is None:
        raise rule("must be <experiment>:<variant>")
    return match.group(1), match.group(2)


# The page's signals that targeting reads, each read from its text as the query string has
# it: the dashboard's visitor lookup reads its form with the very same rules.
PAGE_SIGNALS: dict[str, Callable[[str], Any]] = {
    "lang": _language,
    "section": _section,
    "tags": _tags,
    "article_views": _views,
    "supporter": _flag,
}


def read_page_signals(raw: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The PAGE_SIGNALS given (non-empty) in `raw`, read; and, per bad one, why."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, read in PAGE_SIGNALS.items():
        if raw.get(name):
            try:
                values[name] = read(raw[name])
            except PydanticCustomError as exc:
                errors[name] = exc.message()
    return values, errors


def _param(read: Callable[[str], Any] | None, schema: dict[str, Any], description: str) -> Any:
    """A query parameter: read from its text (by pydantic itself where `read` is None),
    documented as `schema` (at most 256 characters unless the schema says otherwise)."""
    documented = {"type": "string", "maxLength": DEFAULT_MAX_LENGTH, **schema}
    documented = {k: v for k, v in documented.items() if v is not None}
    shown = WithJsonSchema({**documented, "description": description})
    return (shown,) if read is None else (BeforeValidator(read), shown)


_SLUG = {"pattern": f"^{SLUG.pattern}$", "maxLength": 64}
_FLAG = {"enum": ["0", "1"]}


# The rules pydantic checks itself, in words.
MESSAGES = {
    "visitor": "must be 8 to 64 characters of A-Z, a-z, 0-9, _ or -",
    "placement": "must be one of " + ", ".join(Placement),
}


class DecisionQuery(BaseModel):
    """What the page tells about itself. Unknown parameters are ignored, so an older service
    serves a newer snippet, and empty ones are absent (the caller leaves them out)."""

    model_config = ConfigDict(extra="ignore", frozen=True, arbitrary_types_allowed=True)

    visitor: Annotated[
        str,
        Field(pattern=f"^{VISITOR.pattern}$"),
        *_param(
            None,
            {"pattern": f"^{VISITOR.pattern}$"},
            "The reader's id: 8 to 64 of A-Z a-z 0-9 _ -.",
        ),
    ]
    placement: Annotated[
        Placement,
        *_param(None, {"enum": [p.value for p in Placement]}, "Where the banner goes."),
    ]
    url: Annotated[
        str | None,
        *_param(None, {"maxLength": MAX_LENGTH["url"]}, "The article's URL."),
    ] = None
    section: Annotated[str | None, *_param(_section, _SLUG, "The article's section, a slug.")] = (
        None
    )
    tags: Annotated[
        frozenset[str],
        *_param(
            _tags,
            {
                "pattern": r"^[a-z0-9][a-z0-9_-]{0,63}(,[a-z0-9][a-z0-9_-]{0,63}){0,19}$",
                "maxLength": MAX_LENGTH["tags"],
            },
            f"Comma-separated tag slugs, at most {MAX_TAGS}.",
        ),
    ] = Field(default_factory=frozenset)
    lang: Annotated[
        str | None,
        *_param(
            _language,
            {"pattern": f"^{LANGUAGE.pattern}$"},
            "The page's language tag, such as en or en-GB.",
        ),
    ] = None
    article_views: Annotated[
        int,
        *_param(
            _views,
            {"type": "integer", "minimum": 0, "maximum": MAX_VIEWS, "maxLength": None},
            "Articles read so far.",
        ),
    ] = 0
    supporter: Annotated[bool, *_param(_flag, _FLAG, "1 if the reader is a known supporter.")] = (
        False
    )
    device: Annotated[
        Device | None,
        *_param(
            _device,
            {"enum": [d.value for d in Device]},
            "Overrides the device the User-Agent implies.",
        ),
    ] = None
    debug: Annotated[bool, *_param(_flag, _FLAG, "1 adds, per experiment, which rule failed.")] = (
        False
    )
    force: Annotated[
        tuple[str, str] | None,
        *_param(
            _force,
            {"pattern": f"^{FORCE.pattern}$"},
            "QA: `<experiment>:<variant>` of a running experiment.",
        ),
    ] = None
    preview: Annotated[
        str | None,
        *_param(
            None,
            {"maxLength": MAX_LENGTH["preview"]},
            "QA: a signed preview token (any status).",
        ),
    ] = None


# The answer.


class ShownBanner(BaseModel):
    """The banner to show, ready for the snippet."""

    experiment: str
    variant: str
    token: str = Field(description="The signed decision token.")
    template: Template
    content: dict[str, Any] = Field(
        description="The banner, placeholders filled. `accepts` is the payment methods' line "
        '("We accept Card · PayPal"), null when none is named. `reminder` is null when "remind me '
        'later" only snoozes; otherwise the e-mail reminder it offers: `choices` (each a '
        "`label` and one of `in_days`, `next_month` or `on`), `consent`, `privacy_url`, "
        "`email_label`, `submit_label` and `thanks`. The snippet posts the reader's choice "
        "to POST /v1/reminders."
    )
    snooze_hours: SnoozeHours
    qa: bool = Field(description="A forced or preview decision.")


class DecisionDebug(BaseModel):
    experiments: list[Any]


class Decision(BaseModel):
    banner: ShownBanner | None
    reason: Annotated[
        Reason | None,
        WithJsonSchema(
            {
                "type": ["string", "null"],
                "enum": [*(r.value for r in Reason), None],
                "description": "Why no banner; null when there is one.",
            }
        ),
    ]
    debug: DecisionDebug = absent(
        "With debug=1: per experiment in decision order, the rule that ruled it out "
        "(`priority`: not reached; null: shown)."
    )
