"""Parsing GET /v1/decision's query string into a PageContext and QA flags, at the edge.

Every problem is collected, so one 400 names every bad parameter at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from service.api.errors import ApiError
from service.api.geo import country_name, normalise_country
from service.domain.devices import device_from_user_agent
from service.domain.experiment import Device, Placement
from service.domain.page_context import PageContext

VISITOR = re.compile(r"[A-Za-z0-9_-]{8,64}")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:-[A-Za-z0-9]{1,8}){0,4}")
FORCE = re.compile(r"([a-z0-9][a-z0-9-]{1,39}):([a-z0-9][a-z0-9-]{0,23})")
# ASCII digits only: str.isdigit() and \d also take "²" and "١٢٣", which int() refuses or reads.
COUNT = re.compile(r"[0-9]{1,7}")
MAX_TAGS = 20
MAX_LENGTH = {"url": 2048, "preview": 300, "tags": 1400}
DEFAULT_MAX_LENGTH = 256
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no", ""}


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    context: PageContext
    debug: bool
    force: tuple[str, str] | None
    preview: str | None


def parse_decision_request(
    args: Mapping[str, str], *, user_agent: str, country: str | None
) -> DecisionRequest:
    """country: the raw value of the CDN's geo header, if any."""
    errors: dict[str, str] = {}
    for name, value in args.items():
        limit = MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)
        if len(value) > limit:
            errors[name] = f"must be at most {limit} characters"
    if errors:
        raise _bad(errors)

    visitor = args.get("visitor", "")
    if not visitor:
        errors["visitor"] = "required"
    elif not VISITOR.fullmatch(visitor):
        errors["visitor"] = "must be 8 to 64 characters of A-Z, a-z, 0-9, _ or -"

    placement: Placement | None = None
    raw_placement = args.get("placement", "")
    try:
        placement = Placement(raw_placement)
    except ValueError:
        allowed = ", ".join(p.value for p in Placement)
        errors["placement"] = "required" if not raw_placement else f"must be one of {allowed}"

    section = args.get("section") or None
    if section is not None:
        section = section.lower()
        if not SLUG.fullmatch(section):
            errors["section"] = "must be a slug of letters, digits, - or _"

    tags = frozenset(t.strip().lower() for t in args.get("tags", "").split(",") if t.strip())
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"at most {MAX_TAGS} tags"
    elif any(not SLUG.fullmatch(t) for t in tags):
        errors["tags"] = "each tag must be a slug of letters, digits, - or _"

    language = None
    if args.get("lang"):
        match = LANGUAGE.fullmatch(args["lang"])
        if match:
            language = match.group(1).lower()
        else:
            errors["lang"] = "must be a language tag such as en or en-GB"

    article_views = 0
    if args.get("article_views"):
        raw = args["article_views"]
        if COUNT.fullmatch(raw) and int(raw) <= 1_000_000:
            article_views = int(raw)
        else:
            errors["article_views"] = "must be a whole number from 0 to 1000000"

    supporter = _flag(args, "supporter", errors)
    debug = _flag(args, "debug", errors)

    device: Device | None = None
    if args.get("device"):
        try:
            device = Device(args["device"].lower())
        except ValueError:
            errors["device"] = "must be one of " + ", ".join(d.value for d in Device)

    force = None
    if args.get("force"):
        match = FORCE.fullmatch(args["force"])
        if match:
            force = (match.group(1), match.group(2))
        else:
            errors["force"] = "must be <experiment>:<variant>"

    if errors or placement is None:
        raise _bad(errors)

    country = normalise_country(country)
    context = PageContext(
        visitor=visitor,
        placement=placement,
        device=device or device_from_user_agent(user_agent),
        country=country,
        country_name=country_name(country) if country else None,
        language=language,
        section=section,
        tags=tags,
        article_views=article_views,
        supporter=supporter,
        url=args.get("url") or None,
    )
    return DecisionRequest(context, debug, force, args.get("preview") or None)


def _flag(args: Mapping[str, str], name: str, errors: dict[str, str]) -> bool:
    value = args.get(name, "").lower()
    if value in _TRUE:
        return True
    if value not in _FALSE:
        errors[name] = "must be 1 or 0"
    return False


def _bad(errors: dict[str, str]) -> ApiError:
    names = ", ".join(sorted(errors))
    return ApiError(400, "bad_request", f"bad query parameters: {names}", errors)
