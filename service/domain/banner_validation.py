"""The banner part of the experiment document: template, copy, CTA, amounts."""

from __future__ import annotations

import re

from service.domain.experiment import Amounts, Banner, Cta, Frequency, PaymentMethod, Template
from service.domain.field_checks import (
    CURRENCY,
    Check,
    Fields,
    Invalid,
    choice,
    http_url,
    number,
    or_null,
    text,
)

_PLACEHOLDER = re.compile(r"%%([A-Za-z0-9_]+)%%")
_PLACEHOLDERS = frozenset({"AMOUNT", "CURRENCY_SYMBOL", "COUNTRY_NAME", "ARTICLE_COUNT"})
_NEED_AMOUNTS = frozenset({"AMOUNT", "CURRENCY_SYMBOL"})


def parse_banner(fields: Fields | None) -> Banner | None:
    """The banner, or None when it is too broken to build (the errors are already recorded)."""
    if fields is None:
        return None
    template = fields.read("template", choice(Template), None, required=True)
    amounts = _amounts(fields.child("amounts", nullable=True))
    is_epic = template is Template.epic
    has_amounts = amounts is not None
    heading = fields.read(
        "heading", _copy(200, has_amounts, non_empty=is_epic), "", required=is_epic
    )
    paragraphs = fields.read_list(
        "paragraphs", _copy(2000, has_amounts), max_items=10, unique=False
    )
    highlight = fields.read("highlight", or_null(_copy(500, has_amounts)), None)
    cta = _cta(fields.child("cta", required=True), has_amounts)
    payment_methods = fields.read_list("payment_methods", choice(PaymentMethod))
    remind_later = fields.read("remind_later_label", or_null(_copy(120, has_amounts)), None)
    fields.finish()
    if template is None or cta is None:
        return None
    return Banner(
        template, heading, paragraphs, highlight, cta, amounts, payment_methods, remind_later
    )


def _copy(max_len: int, has_amounts: bool, *, non_empty: bool = False) -> Check[str]:
    """Banner text: plain text whose only markup is the placeholders the snippet fills in."""
    plain = text(max_len, non_empty=non_empty)

    def check(value: object) -> str:
        copy = plain(value)
        for name in _PLACEHOLDER.findall(copy):
            if name not in _PLACEHOLDERS:
                raise Invalid(f"unknown placeholder %%{name}%%")
            if name in _NEED_AMOUNTS and not has_amounts:
                raise Invalid(f"%%{name}%% needs amounts on the banner")
        return copy

    return check


def _cta(fields: Fields | None, has_amounts: bool) -> Cta | None:
    if fields is None:
        return None
    label = fields.read("label", _copy(60, has_amounts, non_empty=True), "", required=True)
    url = fields.read("url", http_url, "", required=True)
    fields.finish()
    return Cta(label, url)


def _amounts(fields: Fields | None) -> Amounts | None:
    if fields is None:
        return None
    currency = fields.read("currency", CURRENCY, "", required=True)
    price = number(0, 1_000_000, above=True)
    asks = {f: fields.read_list(f.value, price, max_items=6) for f in Frequency}
    default = fields.read("default_frequency", choice(Frequency), Frequency.monthly)
    if not asks[default]:
        fields.fail("default_frequency", f"needs at least one {default} amount")
    fields.finish()
    return Amounts(
        currency, asks[Frequency.one_off], asks[Frequency.monthly], asks[Frequency.annual], default
    )
