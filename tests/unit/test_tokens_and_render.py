"""Decision and preview tokens; banner content with placeholders; device detection."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.banner_render import accepts_line, format_amount, render_content
from service.domain.devices import device_from_user_agent
from service.domain.experiment import Device, PaymentMethod, Placement
from service.domain.page_context import PageContext
from service.domain.tokens import DECISION_MAX_LENGTH, TokenInvalid, TokenSigner
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

SIGNER = TokenSigner("s" * 48)
NOW = 1_796_000_000


def test_decision_token_round_trip() -> None:
    token = SIGNER.decision("reader-0001", "monthly-ask", "control", NOW, qa=False)
    claims = SIGNER.verify_decision(token, NOW + 60, 86_400)
    assert (claims.visitor, claims.experiment, claims.variant, claims.issued_at, claims.qa) == (
        "reader-0001",
        "monthly-ask",
        "control",
        NOW,
        False,
    )
    assert SIGNER.verify_decision(
        SIGNER.decision("reader-0001", "e1", "v", NOW, qa=True), NOW, 60
    ).qa


def test_worst_case_token_is_short_and_url_safe() -> None:
    token = SIGNER.decision("V" * 64, "e" * 40, "v" * 24, 4_102_444_800, qa=True)
    assert len(token) <= DECISION_MAX_LENGTH
    assert all(c.isalnum() or c in "-_." for c in token)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("control", "treated"),
        lambda t: t.replace("reader-0001", "reader-0002"),
        lambda t: "q" + t[1:],
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t + ".x",
    ],
)
def test_forged_tokens_are_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    token = SIGNER.decision("reader-0001", "monthly-ask", "control", NOW, qa=False)
    with pytest.raises(TokenInvalid):
        SIGNER.verify_decision(mutate(token), NOW, 86_400)


def test_other_secret_is_refused() -> None:
    token = TokenSigner("t" * 48).decision("reader-0001", "e1", "v", NOW, qa=False)
    with pytest.raises(TokenInvalid, match="signature"):
        SIGNER.verify_decision(token, NOW, 86_400)


def test_expired_and_future_tokens() -> None:
    token = SIGNER.decision("reader-0001", "e1", "v", NOW, qa=False)
    with pytest.raises(TokenInvalid, match="expired"):
        SIGNER.verify_decision(token, NOW + 86_401, 86_400)
    with pytest.raises(TokenInvalid, match="future"):
        SIGNER.verify_decision(token, NOW - 3600, 86_400)


def test_preview_tokens_are_not_decision_tokens() -> None:
    preview = SIGNER.preview("monthly-ask", "control", NOW + 3600)
    assert SIGNER.verify_preview(preview, NOW).variant == "control"
    with pytest.raises(TokenInvalid):
        SIGNER.verify_decision(preview, NOW, 86_400)
    decision = SIGNER.decision("reader-0001", "monthly-ask", "control", NOW, qa=False)
    with pytest.raises(TokenInvalid):
        SIGNER.verify_preview(decision, NOW)
    with pytest.raises(TokenInvalid, match="expired"):
        SIGNER.verify_preview(preview, NOW + 3600)


def test_placeholders_are_filled_and_markup_is_left_as_text() -> None:
    doc = experiment_doc()
    banner = doc["variants"][0]["banner"]
    banner["heading"] = "Readers in %%COUNTRY_NAME%%: <img src=x onerror=alert(1)>"
    banner["paragraphs"] = [
        "You have read %%ARTICLE_COUNT%% articles. Give in %%CURRENCY_SYMBOL%%."
    ]
    experiment = parse_experiment(doc)
    page = PageContext(
        visitor="reader-0001",
        placement=Placement.article_end,
        device=Device.mobile,
        country="GB",
        country_name="United Kingdom",
        article_views=12,
    )
    content = render_content(experiment.variants[0].banner, page)
    assert content["heading"] == "Readers in United Kingdom: <img src=x onerror=alert(1)>"
    assert content["paragraphs"] == ["You have read 12 articles. Give in $."]
    assert content["highlight"] == "Support us with $5 a month."
    assert content["amounts"]["monthly"] == [2, 5, 10]
    assert content["cta"] == {"label": "Give $5 a month", "url": "https://example.org/donate"}


def _rendered(**amounts: object) -> dict[str, Any]:
    doc = experiment_doc()
    banner = doc["variants"][1]["banner"]  # monthly 5, 10, 20; one-off 5, 10, 25
    banner["highlight"] = "Give %%SELECTED_AMOUNT%% a month, from %%AMOUNT%%."
    banner["amounts"].update(amounts)
    page = PageContext(visitor="reader-0001", placement=Placement.article_end, device=Device.mobile)
    return render_content(parse_experiment(doc).variants[1].banner, page)


def test_the_highlight_names_the_amount_selected_when_the_banner_opens() -> None:
    # Without a chosen amount the banner opens on the second one, $10: the copy says so too.
    content = _rendered()
    assert content["highlight"] == "Give $10 a month, from $5."
    assert content["amounts"]["preselected"] == {"one_off": 10, "monthly": 10}


def test_amount_keeps_naming_the_smallest_amount_as_stored_copy_expects() -> None:
    """ "from just %%AMOUNT%%" was written when %%AMOUNT%% was the smallest amount; it still
    is, whichever amount is selected."""
    content = _rendered(default_amount=20)
    assert content["highlight"] == "Give $20 a month, from $5."


def test_the_amount_selected_first_is_the_editors_choice() -> None:
    content = _rendered(default_amount=5)
    assert content["highlight"] == "Give $5 a month, from $5."
    # Only the frequency the banner opens on: switching to one-off selects its second amount.
    assert content["amounts"]["preselected"] == {"one_off": 10, "monthly": 5}


@pytest.mark.parametrize(
    "frequency,amount,label",
    [("one_off", 25, "Give $25 once"), ("monthly", 10, "Give $10 a month")],
)
def test_the_button_names_the_frequency_and_amount_selected(
    frequency: str, amount: float, label: str
) -> None:
    content = _rendered(default_frequency=frequency, default_amount=amount)
    assert content["cta"]["label"] == label
    # The words for every frequency the reader can switch to; the snippet fills the amount.
    assert content["amounts"]["cta_labels"] == {
        "one_off": "Give %%SELECTED_AMOUNT%% once",
        "monthly": "Give %%SELECTED_AMOUNT%% a month",
    }


def test_without_amounts_the_button_keeps_the_editors_label() -> None:
    doc = experiment_doc()
    banner = doc["variants"][0]["banner"]
    banner["amounts"], banner["highlight"] = None, None
    page = PageContext(visitor="reader-0001", placement=Placement.article_end, device=Device.mobile)
    content = render_content(parse_experiment(doc).variants[0].banner, page)
    assert content["cta"]["label"] == "Support us"
    assert content["amounts"] is None


def test_unknown_country_has_a_neutral_name() -> None:
    doc = experiment_doc()
    doc["variants"][0]["banner"]["heading"] = "Hello %%COUNTRY_NAME%%"
    banner = parse_experiment(doc).variants[0].banner
    page = PageContext(
        visitor="reader-0001", placement=Placement.article_end, device=Device.desktop
    )
    assert render_content(banner, page)["heading"] == "Hello your country"


@pytest.mark.parametrize(
    "amount,currency,text", [(2, "USD", "$2"), (2.5, "GBP", "£2.50"), (10, "XOF", "XOF 10")]
)
def test_amount_formatting(amount: float, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


@pytest.mark.parametrize(
    "agent,device",
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", Device.mobile),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36", Device.mobile),
        ("Mozilla/5.0 (Linux; Android 13; SM-X200) Safari/537.36", Device.tablet),
        ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)", Device.tablet),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0", Device.desktop),
        ("", Device.desktop),
    ],
)
def test_device_from_user_agent(agent: str, device: Device) -> None:
    assert device_from_user_agent(agent) == device


def test_the_payment_methods_line_is_written_by_the_service() -> None:
    methods = (PaymentMethod.card, PaymentMethod.paypal, PaymentMethod.direct_debit)
    assert accepts_line(methods) == "We accept Card · PayPal · Direct debit"
    assert accepts_line(()) is None
    # Every method has its readers' name, so no banner shows a raw key such as "apple_pay".
    assert "_" not in (accepts_line(tuple(PaymentMethod)) or "")
