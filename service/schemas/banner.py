"""The banner part of the experiment document: template, copy, CTA, amounts."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Hashable, Sequence
from datetime import date
from typing import Annotated

from pydantic import Field, ValidationError

from service.domain import experiment as domain
from service.domain.experiment import Frequency, PaymentMethod, Template
from service.schemas import checks
from service.schemas.errors import error_fields
from service.schemas.fields import (
    Boolean,
    Currency,
    Document,
    HttpUrl,
    checked,
    choice,
    number,
    text,
    whole,
)

_PLACEHOLDER = re.compile(r"%%([A-Za-z0-9_]+)%%")
_PLACEHOLDERS = frozenset(
    {"AMOUNT", "SELECTED_AMOUNT", "CURRENCY_SYMBOL", "COUNTRY_NAME", "ARTICLE_COUNT"}
)
_NEED_AMOUNTS = frozenset({"AMOUNT", "SELECTED_AMOUNT", "CURRENCY_SYMBOL"})


def _copy(max_len: int, *, non_empty: bool = False, nullable: bool = False) -> object:
    """Banner text: plain text whose only markup is the placeholders the snippet fills in
    (whether those that show money have amounts to show is checked with the whole banner)."""
    plain = checks.text(max_len, non_empty=non_empty)

    def check(value: object) -> str:
        copy = plain(value)
        for name in _PLACEHOLDER.findall(copy):
            if name not in _PLACEHOLDERS:
                raise checks.Invalid(f"unknown placeholder %%{name}%%")
        return copy

    schema = {"type": "string", "maxLength": max_len}
    return checked(check, schema, nullable=nullable)


Price = Annotated[float, *number(0, 1_000_000, above=True)]


class Cta(Document):
    domain_type = domain.Cta

    label: Annotated[str, *_copy(60, non_empty=True)]
    url: HttpUrl


class Amounts(Document):
    domain_type = domain.Amounts

    currency: Currency
    one_off: list[Price] = Field(default_factory=list, max_length=6)
    monthly: list[Price] = Field(default_factory=list, max_length=6)
    annual: list[Price] = Field(default_factory=list, max_length=6)
    default_frequency: Annotated[Frequency, *choice(Frequency)] = Frequency.monthly
    default_amount: Annotated[float | None, *number(0, 1_000_000, above=True, nullable=True)] = (
        Field(
            default=None,
            title="Amount selected first",
            description="One of the amounts of the frequency shown first. Empty: the second "
            "of them (the only one, if there is one).",
        )
    )


def _calendar_date(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise checks.Invalid("must be a date written YYYY-MM-DD")


MAX_REMINDER_DAYS = 365  # a reminder is due within a year of its sign-up


class ReminderChoice(Document):
    """One "when" of a reminder offer: exactly one of in_days, next_month and on."""

    domain_type = domain.ReminderChoice

    label: Annotated[str, *text(60, non_empty=True)]
    in_days: Annotated[int | None, *whole(1, MAX_REMINDER_DAYS, nullable=True)] = Field(
        default=None, description="Remind this many days after the sign-up."
    )
    next_month: Boolean = Field(
        default=False, description="Remind on the first day of the next month."
    )
    on: Annotated[
        str | None,
        *checked(_calendar_date, {"type": "string", "format": "date"}, nullable=True),
    ] = Field(default=None, description="Remind on this date (YYYY-MM-DD).")

    def rule_errors(self, path: str) -> dict[str, str]:
        given = sum((self.in_days is not None, self.next_month, self.on is not None))
        if given != 1:
            return {path: "needs exactly one of in_days, next_month and on"}
        return {}


# Defaults come from the domain's; a slotted dataclass keeps them on its fields, not its class.
_OFFER_DEFAULTS: dict[str, str] = {
    f.name: f.default
    for f in dataclasses.fields(domain.ReminderOffer)
    if isinstance(f.default, str)
}


class ReminderOffer(Document):
    """What "remind me later" offers instead of a plain snooze: an e-mail reminder."""

    domain_type = domain.ReminderOffer

    choices: list[ReminderChoice] = Field(min_length=1, max_length=3)
    consent: Annotated[str, *text(500, non_empty=True)] = Field(
        description="The sentence the reader agrees to by asking for a reminder."
    )
    privacy_url: HttpUrl
    email_label: Annotated[str, *text(60, non_empty=True)] = _OFFER_DEFAULTS["email_label"]
    submit_label: Annotated[str, *text(40, non_empty=True)] = _OFFER_DEFAULTS["submit_label"]
    thanks: Annotated[str, *text(300, non_empty=True)] = _OFFER_DEFAULTS["thanks"]

    def rule_errors(self, path: str) -> dict[str, str]:
        errors: dict[str, str] = {}
        for i, item in enumerate(self.choices):
            errors.update(item.rule_errors(f"{path}.choices[{i}]"))
        errors.update(duplicates([c.label for c in self.choices], f"{path}.choices"))
        return errors


class Banner(Document):
    domain_type = domain.Banner

    template: Annotated[Template, *choice(Template)]
    heading: Annotated[str, *_copy(200)] = Field(
        default="", description="Required, and not empty, on an epic."
    )
    paragraphs: list[Annotated[str, *_copy(2000)]] = Field(default_factory=list, max_length=10)
    highlight: Annotated[str | None, *_copy(500, nullable=True)] = None
    cta: Cta
    amounts: Amounts | None = None
    payment_methods: list[Annotated[PaymentMethod, *choice(PaymentMethod)]] = Field(
        default_factory=list, max_length=checks.MAX_LIST_ITEMS
    )
    remind_later_label: Annotated[str | None, *_copy(120, nullable=True)] = None
    reminder: ReminderOffer | None = Field(
        default=None,
        description='Empty: "remind me later" snoozes the banner. Set: it offers an e-mail '
        "reminder at a time the reader picks.",
    )

    def rule_errors(self, path: str) -> dict[str, str]:
        """The rules across fields, by path under `path`."""
        errors: dict[str, str] = {}
        if self.template is Template.epic:
            if "heading" not in self.model_fields_set:
                errors[f"{path}.heading"] = "required"
            elif not self.heading.strip():
                errors[f"{path}.heading"] = "must not be empty"
        if self.amounts is None:
            copies = {
                "heading": self.heading,
                **{f"paragraphs[{i}]": p for i, p in enumerate(self.paragraphs)},
                "highlight": self.highlight,
                "cta.label": self.cta.label,
                "remind_later_label": self.remind_later_label,
            }
            for name, copy in copies.items():
                needed = [n for n in _PLACEHOLDER.findall(copy or "") if n in _NEED_AMOUNTS]
                if needed:
                    errors[f"{path}.{name}"] = f"%%{needed[0]}%% needs amounts on the banner"
        else:
            amounts = self.amounts.model_dump()
            for frequency in Frequency:
                errors.update(duplicates(amounts[frequency.value], f"{path}.amounts.{frequency}"))
            frequency = self.amounts.default_frequency
            offered = amounts[frequency.value]
            if not offered:
                errors[f"{path}.amounts.default_frequency"] = (
                    f"needs at least one {frequency} amount"
                )
            elif self.amounts.default_amount not in (None, *offered):
                listed = ", ".join(_amount_text(a) for a in offered)
                errors[f"{path}.amounts.default_amount"] = (
                    f"must be one of the {frequency} amounts: {listed}"
                )
        errors.update(duplicates(self.payment_methods, f"{path}.payment_methods"))
        if self.reminder is not None:
            errors.update(self.reminder.rule_errors(f"{path}.reminder"))
        return errors


def _amount_text(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else str(amount)


def duplicates(values: Sequence[Hashable], path: str) -> dict[str, str]:
    """Each item equal to an earlier one, by its path."""
    errors, seen = {}, set()
    for i, value in enumerate(values):
        if value in seen:
            errors[f"{path}[{i}]"] = "is a duplicate"
        seen.add(value)
    return errors


def parse_banner(doc: object, errors: dict[str, str], path: str = "banner") -> domain.Banner | None:
    """The banner at `path`, or None with every error recorded in `errors`."""
    try:
        banner = Banner.model_validate(doc)
    except ValidationError as exc:
        errors.update(
            {f"{path}.{k}" if k != "$" else path: v for k, v in error_fields(exc).items()}
        )
        return None
    found = banner.rule_errors(path)
    errors.update(found)
    if found:
        return None
    parsed: domain.Banner = banner.to_domain()
    return parsed
