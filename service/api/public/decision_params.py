"""Parsing GET /v1/decision's query string into a PageContext and QA flags, at the edge, with
the one declaration of its parameters (service/schemas/decision.py).

Every problem is collected, so one 400 names every bad parameter at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from service.api.http import ApiError
from service.api.public.geo import country_name, normalise_country
from service.domain.devices import device_from_user_agent
from service.domain.page_context import PageContext
from service.schemas.decision import DEFAULT_MAX_LENGTH, MAX_LENGTH, MESSAGES, DecisionQuery
from service.schemas.errors import error_fields
from service.usecases.decide import DecisionRequest


def parse_decision_request(
    args: Mapping[str, str], *, user_agent: str, country: str | None
) -> DecisionRequest:
    """country: the raw value of the CDN's geo header, if any."""
    # Any parameter, known or not, is bounded before anything reads it.
    errors = {
        name: f"must be at most {limit} characters"
        for name, value in args.items()
        if len(value) > (limit := MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH))
    }
    if errors:
        raise _bad(errors)
    try:
        query = DecisionQuery.model_validate({k: v for k, v in args.items() if v})
    except ValidationError as exc:
        raise _bad(error_fields(exc, MESSAGES)) from None
    country = normalise_country(country)
    context = PageContext(
        visitor=query.visitor,
        placement=query.placement,
        device=query.device or device_from_user_agent(user_agent),
        country=country,
        country_name=country_name(country) if country else None,
        language=query.lang,
        section=query.section,
        tags=query.tags,
        article_views=query.article_views,
        supporter=query.supporter,
        url=query.url,
    )
    return DecisionRequest(context, query.debug, query.force, query.preview)


def _bad(errors: dict[str, str]) -> ApiError:
    names = ", ".join(sorted(errors))
    return ApiError(400, f"bad query parameters: {names}", errors)
