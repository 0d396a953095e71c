"""Banner content as the snippet receives it: plain text with the placeholders filled in.

Nothing here produces HTML; the snippet sets every string with textContent.
"""

from __future__ import annotations

from typing import Any

from service.domain.experiment import (
    Amounts,
    Banner,
    Frequency,
    PaymentMethod,
    ReminderChoice,
    ReminderOffer,
)
from service.domain.page_context import PageContext

# Symbols for the currencies newsrooms most often ask in; others fall back to the ISO code.
CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "JPY": "¥",
    "INR": "₹",
    "CHF": "CHF ",
    "SEK": "kr ",
    "NOK": "kr ",
    "DKK": "kr ",
    "BRL": "R$",
    "MXN": "MX$",
    "ZAR": "R",
    "PLN": "zł ",
    "ILS": "₪",
    "KRW": "₩",
    "HKD": "HK$",
    "SGD": "S$",
}


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def format_amount(amount: float, currency: str) -> str:
    text = f"{amount:.0f}" if float(amount).is_integer() else f"{amount:.2f}"
    return f"{currency_symbol(currency)}{text}"


# What the button says once the banner offers amounts: the reader's choice, so the button
# never asks for another frequency than the one selected (the link carries the same choice).
CHOICE_LABELS = {
    Frequency.one_off: "Give %%SELECTED_AMOUNT%% once",
    Frequency.monthly: "Give %%SELECTED_AMOUNT%% a month",
    Frequency.annual: "Give %%SELECTED_AMOUNT%% a year",
}


def _smallest_amount(amounts: Amounts) -> str:
    # %%AMOUNT%%, "from just $2": the smallest amount of the frequency the banner opens on.
    # Its meaning predates the selected amount, and stored copy relies on it.
    choices = amounts.for_frequency(amounts.default_frequency)
    return format_amount(min(choices), amounts.currency) if choices else ""


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"%%{name}%%", value)
    return text


def _when(choice: ReminderChoice) -> dict[str, Any]:
    # Only the kind that is set: the snippet turns it into an instant in the reader's calendar.
    if choice.in_days is not None:
        return {"label": choice.label, "in_days": choice.in_days}
    if choice.next_month:
        return {"label": choice.label, "next_month": True}
    return {"label": choice.label, "on": choice.on}


def reminder_content(offer: ReminderOffer | None) -> dict[str, Any] | None:
    """What "remind me later" opens: None is a plain snooze, as before offers existed."""
    if offer is None:
        return None
    return {
        "choices": [_when(c) for c in offer.choices],
        "consent": offer.consent,
        "privacy_url": offer.privacy_url,
        "email_label": offer.email_label,
        "submit_label": offer.submit_label,
        "thanks": offer.thanks,
    }


# What readers read for each payment method; the line is written here, not in the snippet,
# whose every byte each article page pays for.
PAYMENT_METHOD_NAMES = {
    PaymentMethod.card: "Card",
    PaymentMethod.paypal: "PayPal",
    PaymentMethod.apple_pay: "Apple Pay",
    PaymentMethod.google_pay: "Google Pay",
    PaymentMethod.bank_transfer: "Bank transfer",
    PaymentMethod.direct_debit: "Direct debit",
}


def accepts_line(methods: tuple[PaymentMethod, ...]) -> str | None:
    """ "We accept Card · PayPal", or None when the banner names no payment method."""
    if not methods:
        return None
    return "We accept " + " · ".join(PAYMENT_METHOD_NAMES[m] for m in methods)


def render_content(banner: Banner, ctx: PageContext) -> dict[str, Any]:
    values = {
        "COUNTRY_NAME": ctx.country_name or "your country",
        "ARTICLE_COUNT": str(ctx.article_views),
    }
    cta_label = banner.cta.label
    amounts = None
    if banner.amounts is not None:
        a = banner.amounts
        # %%SELECTED_AMOUNT%%: the amount selected as the banner opens, so "Give
        # %%SELECTED_AMOUNT%% a month" matches the highlighted button.
        selected = a.preselected(a.default_frequency)
        values["AMOUNT"] = _smallest_amount(a)
        values["SELECTED_AMOUNT"] = (
            format_amount(selected, a.currency) if selected is not None else ""
        )
        values["CURRENCY_SYMBOL"] = currency_symbol(a.currency).strip()
        if selected is not None:
            cta_label = CHOICE_LABELS[a.default_frequency]
        offered = [f for f in Frequency if a.for_frequency(f)]
        amounts = {
            "currency": a.currency,
            "symbol": currency_symbol(a.currency).strip(),
            "one_off": list(a.one_off),
            "monthly": list(a.monthly),
            "annual": list(a.annual),
            "default_frequency": str(a.default_frequency),
            # Selected as the reader opens each frequency; the snippet follows this.
            "preselected": {str(f): a.preselected(f) for f in offered},
            # The button's words per frequency; the snippet fills in the chosen amount.
            "cta_labels": {str(f): CHOICE_LABELS[f] for f in offered},
        }
    return {
        "heading": fill(banner.heading, values),
        "paragraphs": [fill(p, values) for p in banner.paragraphs],
        "highlight": fill(banner.highlight, values) if banner.highlight else None,
        "cta": {"label": fill(cta_label, values), "url": banner.cta.url},
        "amounts": amounts,
        "payment_methods": [str(m) for m in banner.payment_methods],
        "accepts": accepts_line(banner.payment_methods),
        "remind_later_label": (
            fill(banner.remind_later_label, values) if banner.remind_later_label else None
        ),
        "reminder": reminder_content(banner.reminder),
    }
