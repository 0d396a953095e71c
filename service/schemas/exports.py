"""An export schedule document (POST/PUT /v1/admin/exports and the dashboard's form), and the
answers about schedules and their runs. Like experiments, every way a document is wrong is
reported at once, keyed by field path (`destination.url`, `experiments[2]`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from service.domain import export_schedule as domain
from service.domain.errors import ValidationFailed
from service.domain.export_schedule import (
    ALL_RUNNING,
    CRON_ALIASES,
    ExportFormat,
)
from service.domain.webhook_targets import AllowList
from service.schemas import checks
from service.schemas.errors import error_fields, rule
from service.schemas.experiment_fields import KEY_PATTERN, webhook_url
from service.schemas.fields import Boolean, Document, checked, choice, pattern

MAX_EXPERIMENTS = 100
MAX_RECIPIENTS = 20
_EXPERIMENT_KEY = re.compile(KEY_PATTERN)
# A relative path of plain segments: no "..", no leading "/", nothing a shell would expand.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_INVALID = "the export schedule is invalid"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHECK_FROM = datetime(2026, 1, 1, tzinfo=UTC)
# croniter's R (random) and H (hashed) fields: R picks a new time per croniter instance, so two
# schedulers would disagree on the fire times and the (schedule, fire time) claim breaks.
_NON_DETERMINISTIC = re.compile(r"(^|[\s,/])[RrHh](?=$|[\s,/(])")


def _name(value: object) -> str:
    name = checks.text(100, non_empty=True)(value).strip()
    if _CONTROL.search(name):
        raise checks.Invalid("must not contain control characters")
    return name


def _timezone(value: object) -> str:
    name = checks.text(64, non_empty=True)(value)
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise checks.Invalid(
            "must be an IANA time zone name, such as Europe/Berlin or UTC"
        ) from None
    return name


def _cron(value: object) -> str:
    expression = " ".join(checks.text(100, non_empty=True)(value).split())
    fields = expression.split(" ")
    if len(fields) == 1:
        expression = expression.lower()
    if not (len(fields) == 5 or expression in CRON_ALIASES):
        raise checks.Invalid(
            "must be a cron expression of 5 fields (minute hour day month weekday), "
            "such as '0 6 * * 1', or one of " + ", ".join(CRON_ALIASES)
        )
    if _NON_DETERMINISTIC.search(expression):
        raise checks.Invalid(
            "must not use R (random) or H (hashed) fields: every scheduler must agree"
        )
    try:
        # The next time too: an expression such as "0 0 30 2 *" parses but never fires.
        croniter(expression, _CHECK_FROM).get_next(datetime)
    except (ValueError, KeyError, OverflowError) as exc:  # croniter's errors are ValueErrors
        raise checks.Invalid(f"is not a valid cron expression: {exc}") from None
    return expression


def _all_running(value: object) -> object:
    """ "all_running" reads as None; anything but a list is refused in words."""
    if value == ALL_RUNNING:
        return None
    if not isinstance(value, list):
        raise rule(f'must be "{ALL_RUNNING}" or a list of experiment keys')
    return value


def _relative_path(value: object) -> str:
    path = checks.text(200, non_empty=True)(value).strip("/")
    parts = path.split("/")
    if not all(_SEGMENT.fullmatch(part) and part not in (".", "..") for part in parts):
        raise checks.Invalid(
            "must be a relative directory under the server's EXPORT_DIR: segments of letters, "
            "digits, . _ - separated by /, without .."
        )
    return path


def _secret(value: object) -> str:
    secret = checks.text(256)(value)
    if len(secret) < 16 or secret.strip() != secret:
        raise checks.Invalid("must be 16 to 256 characters without surrounding spaces")
    return secret


def _subject(value: object) -> str:
    subject = checks.text(200, non_empty=True)(value)
    if _CONTROL.search(subject):  # a newline would let the subject forge mail headers
        raise checks.Invalid("must be one line without control characters")
    return subject


# Each field's title and description are also its input's label and help in the dashboard's
# export form (service/dashboard/views_exports.py), as the `type` field's title names the kind
# there: a new destination's fields need no dashboard code.


class DirectoryDestination(Document):
    """`path` under the server's EXPORT_DIR."""

    domain_type = domain.DirectoryDestination

    type: Literal["directory"] = Field(title="directory")
    path: Annotated[str, *checked(_relative_path, {"type": "string", "maxLength": 200})] = Field(
        title="Directory",
        description="A path under the server’s EXPORT_DIR, e.g. finance/weekly.",  # noqa: RUF001
    )


class WebhookDestination(Document):
    """`url`: https, never a loopback, private, link-local or other internal address or name,
    unless the server's EXPORT_WEBHOOK_ALLOW lists it, and then http too. `secret`: 16 to 256
    characters, shown as ******** (which, kept in an edit, keeps it)."""

    domain_type = domain.WebhookDestination

    type: Literal["webhook"] = Field(title="webhook")
    url: str = Field(title="HTTPS URL", json_schema_extra={"format": "uri", "maxLength": 2000})
    # format "password": a secret, taken as typed and never offered by the browser's autofill.
    secret: Annotated[
        str, *checked(_secret, {"type": "string", "maxLength": 256, "format": "password"})
    ] = Field(
        title="Signing secret",
        description="The receiver checks X-SmallFavor-Signature with it. ******** keeps the "
        "stored secret while the URL stays the same.",
    )

    @field_validator("url", mode="plain")
    @classmethod
    def _target(cls, value: object, info: ValidationInfo) -> str:
        return webhook_url(value, (info.context or {}).get("webhook_allow") or AllowList())


class EmailDestination(Document):
    domain_type = domain.EmailDestination

    type: Literal["email"] = Field(title="e-mail")
    to: list[
        Annotated[str, *checked(checks.email_address, {"type": "string", "format": "email"})]
    ] = Field(
        min_length=1,
        max_length=MAX_RECIPIENTS,
        title="Recipients",
        description="Addresses separated by commas.",
    )
    subject: Annotated[
        str | None, *checked(_subject, {"type": "string", "maxLength": 200}, nullable=True)
    ] = Field(default=None, title="Subject")


DestinationModels = DirectoryDestination | WebhookDestination | EmailDestination
Destination = Annotated[DestinationModels, Field(discriminator="type")]


class ExportSchedule(Document):
    domain_type = domain.ExportSchedule

    name: Annotated[str, *checked(_name, {"type": "string", "maxLength": 100, "pattern": r"\S"})]
    cron: Annotated[
        str,
        *checked(_cron, {"type": "string", "maxLength": 100, "examples": ["0 6 * * 1"]}),
    ] = Field(
        description="Five fields (minute hour day month weekday) or one of "
        + ", ".join(CRON_ALIASES)
        + ", in `timezone`. A local time skipped by DST fires at the first instant after "
        "the gap; a repeated one fires once, at its first occurrence."
    )
    timezone: Annotated[
        str, *checked(_timezone, {"type": "string", "examples": ["Europe/Berlin"]})
    ] = "UTC"
    experiments: Annotated[
        list[Annotated[str, *pattern(KEY_PATTERN, "must be an experiment key")]] | None,
        BeforeValidator(_all_running),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "const": ALL_RUNNING},
                    {
                        "type": "array",
                        "items": {"type": "string", "pattern": f"^{KEY_PATTERN}$"},
                        "minItems": 1,
                        "maxItems": MAX_EXPERIMENTS,
                        "uniqueItems": True,
                    },
                ],
                "description": f'Experiment keys, or "{ALL_RUNNING}" (those running at run time).',
            }
        ),
    ] = Field(min_length=1, max_length=MAX_EXPERIMENTS)
    format: Annotated[ExportFormat, *choice(ExportFormat)]
    destination: Destination
    enabled: Boolean = True
    catch_up: Boolean = Field(
        default=True,
        description="After downtime, run every missed fire time (up to 100), not only the last.",
    )


_MESSAGES = {
    "experiments": f"must list 1 to {MAX_EXPERIMENTS} experiment keys",
    "destination.to": f"must be a list of 1 to {MAX_RECIPIENTS} items",
}
_TAGS = frozenset(t.value for t in domain.DestinationType)


def parse_schedule(raw: object, *, webhook_allow: AllowList | None = None) -> domain.ExportSchedule:
    """`webhook_allow` is the server's EXPORT_WEBHOOK_ALLOW; without it no internal webhook
    receiver is allowed (service/domain/webhook_targets.py)."""
    errors: dict[str, str] = {}
    schedule = None
    try:
        schedule = ExportSchedule.model_validate(raw, context={"webhook_allow": webhook_allow})
    except ValidationError as exc:
        errors = error_fields(exc, _MESSAGES, drop=_TAGS)
    if isinstance(raw, dict) and isinstance(raw.get("experiments"), list):
        errors = {**_duplicates(raw["experiments"]), **errors}
    if errors or schedule is None:
        raise ValidationFailed(errors, _INVALID)
    parsed: domain.ExportSchedule = schedule.to_domain()
    return parsed


def _duplicates(keys: list[Any]) -> dict[str, str]:
    """Each valid key that repeats an earlier one (checked even when other fields fail)."""
    errors, seen = {}, set()
    for i, key in enumerate(keys):
        if isinstance(key, str) and _EXPERIMENT_KEY.fullmatch(key):
            if key in seen:
                errors[f"experiments[{i}]"] = "is a duplicate"
            seen.add(key)
    return errors
