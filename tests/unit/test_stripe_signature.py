"""Stripe-Signature, verified exactly as Stripe signs: cross-checked against the `stripe`
package itself, so the scheme is Stripe's and not only our reading of it."""

from __future__ import annotations

import hmac
import time

import pytest
import stripe

from service.domain import stripe_signature
from service.domain.stripe_signature import SignatureRefused, signature_header, verify
from tests.stripe_support import OTHER_SECRET, SECRET, START, Stripe, sign

BODY = b'{"id": "evt_1", "object": "event", "type": "charge.refunded"}'


def test_a_body_signed_with_the_secret_is_accepted() -> None:
    assert verify([SECRET], BODY, sign(BODY, START), now=START + 10) == START


def test_any_of_several_v1_values_may_match_while_stripe_rolls_the_secret() -> None:
    header = sign(BODY, START, [OTHER_SECRET, SECRET], v0=True)
    assert header.count("v1=") == 2 and "v0=" in header
    assert verify([SECRET], BODY, header, now=START) == START


def test_any_of_several_configured_secrets_may_match_while_we_roll_ours() -> None:
    assert verify([OTHER_SECRET, SECRET], BODY, sign(BODY, START), now=START) == START


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(SignatureRefused, match="no v1 signature matches"):
        verify([SECRET], BODY, sign(BODY, START, [OTHER_SECRET]), now=START)


def test_a_changed_body_is_refused() -> None:
    with pytest.raises(SignatureRefused, match="no v1 signature matches"):
        verify([SECRET], BODY + b" ", sign(BODY, START), now=START)


def test_an_old_timestamp_is_refused_even_with_a_valid_signature() -> None:
    header = sign(BODY, START)
    assert verify([SECRET], BODY, header, now=START + 300) == START
    with pytest.raises(SignatureRefused, match="301 s old"):
        verify([SECRET], BODY, header, now=START + 301)


def test_a_timestamp_too_far_in_the_future_is_refused() -> None:
    header = sign(BODY, START + 301)
    with pytest.raises(SignatureRefused, match="in the future"):
        verify([SECRET], BODY, header, now=START)
    assert verify([SECRET], BODY, sign(BODY, START + 300), now=START) == START + 300


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("v1=" + "0" * 64, "exactly one t="),
        (f"t=1,t=2,v1={'0' * 64}", "exactly one t="),
        (f"t=soon,v1={'0' * 64}", "exactly one t="),
        ("t=1795867200", "no v1="),
        ("t=1795867200,v0=" + "0" * 64, "no v1="),
        ("t=1795867200,v1=xyz", "no v1="),
        ("t=1795867200,garbage", "not key=value"),
        ("t=1," + "v1=ab," * 1000, "longer than"),
    ],
)
def test_a_malformed_header_is_refused_saying_why(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureRefused, match=reason):
        verify([SECRET], BODY, header, now=START)


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(stripe_signature.hmac, "compare_digest", spy)
    header = sign(BODY, START, [OTHER_SECRET, SECRET])
    verify([SECRET, OTHER_SECRET], BODY, header, now=START)
    # Every v1 against every secret, even after the first match.
    assert len(compared) == 4


def test_stripe_accepts_what_our_helpers_sign() -> None:
    delivery = Stripe(now=START).checkout_completed(visitor="reader-000001")
    with_time_now = delivery.resigned(int(time.time()))
    event = stripe.Webhook.construct_event(with_time_now.body, with_time_now.signature, SECRET)
    assert event.id == delivery.id
    assert event.type == "checkout.session.completed"
    # Several v1 values (a roll): Stripe's own verifier takes any of them too.
    rolled = delivery.resigned(int(time.time()), [OTHER_SECRET, SECRET])
    assert stripe.WebhookSignature.verify_header(rolled.body, rolled.signature, SECRET, 300)
    assert signature_header(SECRET, START, BODY) == sign(BODY, START)


def test_stripe_refuses_what_a_wrong_secret_signs() -> None:
    now = int(time.time())
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(BODY, sign(BODY, now, [OTHER_SECRET]), SECRET)


def test_we_accept_what_stripes_own_generator_signs() -> None:
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, START)
    assert verify([SECRET], BODY, header, now=START) == START
    expected = stripe.WebhookSignature._compute_signature(f"{START}.{BODY.decode()}", SECRET)
    assert header == f"t={START},v1={expected}"
