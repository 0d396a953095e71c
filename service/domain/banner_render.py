"""Banner content as the snippet receives it: plain text with the placeholders filled in.

Nothing here produces HTML; the snippet sets every string with textContent.
"""

from __future__ import annotations

from typing import Any

from service.domain.experiment import Amounts, Banner
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


def _headline_amount(amounts: Amounts) -> str:
    # "from just $2": the smallest amount of the frequency the banner opens on.
    choices = amounts.for_frequency(amounts.default_frequency)
    return format_amount(min(choices), amounts.currency) if choices else ""


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"%%{name}%%", value)
    return text


def render_content(banner: Banner, ctx: PageContext) -> dict[str, Any]:
    values = {
        "COUNTRY_NAME": ctx.country_name or "your country",
        "ARTICLE_COUNT": str(ctx.article_views),
    }
    if banner.amounts is not None:
        values["AMOUNT"] = _headline_amount(banner.amounts)
        values["CURRENCY_SYMBOL"] = currency_symbol(banner.amounts.currency).strip()
    amounts = None
    if banner.amounts is not None:
        a = banner.amounts
        amounts = {
            "currency": a.currency,
            "symbol": currency_symbol(a.currency).strip(),
            "one_off": list(a.one_off),
            "monthly": list(a.monthly),
            "annual": list(a.annual),
            "default_frequency": str(a.default_frequency),
        }
    return {
        "heading": fill(banner.heading, values),
        "paragraphs": [fill(p, values) for p in banner.paragraphs],
        "highlight": fill(banner.highlight, values) if banner.highlight else None,
        "cta": {"label": fill(banner.cta.label, values), "url": banner.cta.url},
        "amounts": amounts,
        "payment_methods": [str(m) for m in banner.payment_methods],
        "remind_later_label": (
            fill(banner.remind_later_label, values) if banner.remind_later_label else None
        ),
    }
