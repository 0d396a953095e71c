"""Turns an export schedule document into an ExportSchedule, or reports every way it is wrong
at once, keyed by field path (`destination.url`, `experiments[2]`), like experiments."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from croniter import croniter

from service.domain.errors import ValidationFailed
from service.domain.export_schedule import (
    ALL_RUNNING,
    CRON_ALIASES,
    Destination,
    DestinationType,
    DirectoryDestination,
    EmailDestination,
    ExportFormat,
    ExportSchedule,
    WebhookDestination,
)
from service.domain.field_checks import Fields, Invalid, boolean, choice, http_url, pattern, text
from service.domain.webhook_targets import AllowList, TargetRefused, webhook_target

MAX_EXPERIMENTS = 100
MAX_RECIPIENTS = 20
_EXPERIMENT_KEY = pattern(r"[a-z0-9][a-z0-9-]{1,39}", "must be an experiment key")
# A relative path of plain segments: no "..", no leading "/", nothing a shell would expand.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_INVALID = "the export schedule is invalid"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHECK_FROM = datetime(2026, 1, 1, tzinfo=UTC)
# croniter's R (random) and H (hashed) fields: R picks a new time per croniter instance, so two
# schedulers would disagree on the fire times and the (schedule, fire time) claim breaks.
_NON_DETERMINISTIC = re.compile(r"(^|[\s,/])[RrHh](?=$|[\s,/(])")


def parse_schedule(raw: object, *, webhook_allow: AllowList | None = None) -> ExportSchedule:
    """`webhook_allow` is the server's EXPORT_WEBHOOK_ALLOW; without it no internal webhook
    receiver is allowed (service/domain/webhook_targets.py)."""
    errors: dict[str, str] = {}
    root = Fields.open(raw, "", errors)
    if root is None:
        raise ValidationFailed(errors, _INVALID)
    name = root.read("name", _name, "", required=True)
    timezone = root.read("timezone", _timezone, "UTC")
    cron = root.read("cron", _cron, "", required=True)
    experiments = _experiments(root)
    export_format = root.read("format", choice(ExportFormat), ExportFormat.csv, required=True)
    destination = _destination(root, webhook_allow or AllowList())
    enabled = root.read("enabled", boolean, True)
    catch_up = root.read("catch_up", boolean, True)
    root.finish()
    if errors or destination is None:
        raise ValidationFailed(errors or {"destination": "required"}, _INVALID)
    return ExportSchedule(
        name=name,
        cron=cron,
        timezone=timezone,
        experiments=experiments,
        format=export_format,
        destination=destination,
        enabled=enabled,
        catch_up=catch_up,
    )


def _name(value: object) -> str:
    name = text(100, non_empty=True)(value).strip()
    if _CONTROL.search(name):
        raise Invalid("must not contain control characters")
    return name


def _timezone(value: object) -> str:
    name = text(64, non_empty=True)(value)
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise Invalid("must be an IANA time zone name, such as Europe/Berlin or UTC") from None
    return name


def _cron(value: object) -> str:
    expression = " ".join(text(100, non_empty=True)(value).split())
    fields = expression.split(" ")
    if len(fields) == 1:
        expression = expression.lower()
    if not (len(fields) == 5 or expression in CRON_ALIASES):
        raise Invalid(
            "must be a cron expression of 5 fields (minute hour day month weekday), "
            "such as '0 6 * * 1', or one of " + ", ".join(CRON_ALIASES)
        )
    if _NON_DETERMINISTIC.search(expression):
        raise Invalid("must not use R (random) or H (hashed) fields: every scheduler must agree")
    try:
        # The next time too: an expression such as "0 0 30 2 *" parses but never fires.
        croniter(expression, _CHECK_FROM).get_next(datetime)
    except (ValueError, KeyError, OverflowError) as exc:  # croniter's errors are ValueErrors
        raise Invalid(f"is not a valid cron expression: {exc}") from None
    return expression


def _experiments(root: Fields) -> tuple[str, ...] | None:
    missing: object = ALL_RUNNING
    value = root.read("experiments", _as_is, missing, required=True)
    if value == ALL_RUNNING:
        return None
    if not isinstance(value, list):
        root.fail("experiments", f'must be "{ALL_RUNNING}" or a list of experiment keys')
        return None
    if not 1 <= len(value) <= MAX_EXPERIMENTS:
        root.fail("experiments", f"must list 1 to {MAX_EXPERIMENTS} experiment keys")
    keys: list[str] = []
    for index, item in enumerate(value):
        path = f"experiments[{index}]"
        try:
            key = _EXPERIMENT_KEY(item)
        except Invalid as invalid:
            root.errors.setdefault(path, str(invalid))
            continue
        if key in keys:
            root.errors.setdefault(path, "is a duplicate")
        keys.append(key)
    return tuple(keys)


def _as_is(value: object) -> object:
    return value


def _destination(root: Fields, allow: AllowList) -> Destination | None:
    fields = root.child("destination", required=True)
    if fields is None:
        return None
    kind = fields.read("type", choice(DestinationType), None, required=True)
    destination: Destination | None = None
    if kind == DestinationType.directory:
        destination = DirectoryDestination(fields.read("path", _relative_path, "", required=True))
    elif kind == DestinationType.webhook:
        url = fields.read("url", lambda value: _webhook_url(value, allow), "", required=True)
        secret = fields.read("secret", _secret, "", required=True)
        destination = WebhookDestination(url, secret)
    elif kind == DestinationType.email:
        recipients = fields.items("to", min_items=1, max_items=MAX_RECIPIENTS, required=True)
        to: list[str] = []
        for path, item in recipients:
            if not isinstance(item, str) or len(item) > 254 or not _email(item):
                fields.errors.setdefault(path, "must be an e-mail address")
            else:
                to.append(item)
        subject = fields.read("subject", _subject, None)
        destination = EmailDestination(tuple(to), subject)
    if kind is not None:
        fields.finish()
    return destination


def _email(address: str) -> bool:
    # A numeric last label is an address written as a domain (root@127.0.0.1): the relay
    # would deliver straight to that host, maybe an internal one. Mail goes to domain names.
    return bool(_EMAIL.fullmatch(address)) and not address.rsplit(".", 1)[1].isdigit()


def _relative_path(value: object) -> str:
    path = text(200, non_empty=True)(value).strip("/")
    parts = path.split("/")
    if not all(_SEGMENT.fullmatch(part) and part not in (".", "..") for part in parts):
        raise Invalid(
            "must be a relative directory under the server's EXPORT_DIR: segments of letters, "
            "digits, . _ - separated by /, without .."
        )
    return path


def _webhook_url(value: object, allow: AllowList) -> str:
    url = http_url(value)
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise Invalid("must not carry a user name or password; the signature authenticates")
    try:
        webhook_target(url, allow)  # SSRF: scheme, host name and literal address
    except TargetRefused as refused:
        raise Invalid(str(refused)) from None
    return url


def _secret(value: object) -> str:
    secret = text(256)(value)
    if len(secret) < 16 or secret.strip() != secret:
        raise Invalid("must be 16 to 256 characters without surrounding spaces")
    return secret


def _subject(value: object) -> str | None:
    if value is None:
        return None
    subject = text(200, non_empty=True)(value)
    if _CONTROL.search(subject):  # a newline would let the subject forge mail headers
        raise Invalid("must be one line without control characters")
    return subject
