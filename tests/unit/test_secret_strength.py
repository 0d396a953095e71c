"""The secret judge: structure an attacker guesses first is refused, random values pass."""

from __future__ import annotations

import base64
import math
import random
import secrets
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.secret_strength import (
    MIN_BITS,
    MIN_LENGTH,
    PUBLISHED_VALUES,
    estimate,
    weakness,
)

# Many different values of each kind an attacker tries, not one example each.
_RNG = random.Random(15)
_WORDS = ["password", "secret", "admin", "changeme", "letmein", "Password1", "hunter2", "abc"]


def _repeat(unit: str, length: int = 40) -> str:
    return (unit * (length // len(unit) + 1))[:length]


REPEATED_CHARACTERS = [_repeat(c, _RNG.randint(32, 80)) for c in "aZ7!k0x-"]
REPEATED_UNITS = [_repeat(u, _RNG.randint(32, 90)) for u in ["abc", "Ab1!", "xy", "q9Z", "1a2b3c"]]
REPEATED_WORDS = [_repeat(w, _RNG.randint(32, 90)) for w in _WORDS] + [
    "Password1Password2Password3Password4",
    "passwordsecretadminchangemeletmein",
    "secret-secret-secret-secret-secret",
]
SEQUENCES = [
    "0123456789" * 4,
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl",
    "9876543210987654321098765432109876543210",
    "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQ",
    "acegikmoqsuwy02468acegikmoqsuwy02468",
    "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7",
    "aabbccddeeffgghhiijjkkllmmnnooppqq",
]
KEYBOARD_WALKS = [
    "qwertyuiopasdfghjklzxcvbnm1234567890",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.",
    "QWERTYUIOP{}|ASDFGHJKL:zxcvbnm<>?!@#$",
    "poiuytrewqlkjhgfdsamnbvcxz0987654321",
    "qwerty" * 6,
]
MIXED = [
    "test-secret-key-" + "x" * 32 + "1",
    "my-secret-" + "z" * 30,
    "changeme" + "0" * 30,
    "admin" + "123456789" * 4,
]


@pytest.mark.parametrize(
    "value",
    REPEATED_CHARACTERS + REPEATED_UNITS + REPEATED_WORDS + SEQUENCES + KEYBOARD_WALKS + MIXED,
)
def test_long_but_predictable_values_are_refused(value: str) -> None:
    assert len(value) >= MIN_LENGTH
    reason = weakness(value)
    assert reason is not None and "too easy to guess" in reason
    assert value not in reason  # the message never repeats the secret


@pytest.mark.parametrize(
    "value,kind",
    [
        ("k" * 40, "runs of one character"),
        ("abcabc" * 7, "repeated parts"),
        ("0123456789" * 4, "sequences"),
        ("1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.", "keyboard walks"),
        ("passwordsecretadminchangemeletmein", "common words"),
    ],
)
def test_the_reason_names_the_pattern(value: str, kind: str) -> None:
    assert kind in (weakness(value) or "")


@pytest.mark.parametrize("value", sorted(PUBLISHED_VALUES))
def test_published_values_are_refused_whatever_their_score(value: str) -> None:
    assert weakness(value) is not None
    assert weakness(value.upper()) is not None
    assert weakness(f"  {value}  ") is not None


def test_the_repositorys_own_examples_are_published_values() -> None:
    # The fixtures' and the manifest tests' secrets are public, even where they look random.
    assert weakness("Zk3q9-fake-secret-for-manifest-tests-0123456789") == (
        "is a published example value"
    )
    assert weakness("test-webhook-secret-" + "y" * 32) == "is a published example value"


def test_short_values_are_refused_even_when_random() -> None:
    assert weakness(secrets.token_urlsafe(23)[:31]) == "is shorter than 32 characters"


def test_an_empty_value_is_worth_nothing() -> None:
    assert estimate("").bits == 0


@given(st.integers(min_value=32, max_value=96))
@settings(max_examples=300, deadline=None)
def test_token_urlsafe_passes(nbytes: int) -> None:
    assert weakness(secrets.token_urlsafe(nbytes)) is None


@given(st.integers(min_value=32, max_value=64))
@settings(max_examples=300, deadline=None)
def test_openssl_rand_hex_passes(nbytes: int) -> None:
    # `openssl rand -hex N` prints 2N lower-case hex digits.
    assert weakness(secrets.token_hex(nbytes)) is None


@given(st.integers(min_value=24, max_value=64))
@settings(max_examples=300, deadline=None)
def test_openssl_rand_base64_passes(nbytes: int) -> None:
    # `openssl rand -base64 48` is what docs/DEPLOY.md and deploy/docker-compose.yml suggest.
    assert weakness(base64.b64encode(secrets.token_bytes(nbytes)).decode()) is None


def test_random_values_keep_a_wide_margin() -> None:
    # Far above the threshold, so no unlucky draw of a generator ever fails a deploy.
    lowest = min(estimate(secrets.token_urlsafe(32)).bits for _ in range(500))
    assert lowest > MIN_BITS + 60
    lowest_hex = min(estimate(secrets.token_hex(32)).bits for _ in range(500))
    assert lowest_hex > MIN_BITS + 60


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=32, max_size=32))
@settings(max_examples=200, deadline=None)
def test_estimate_is_never_above_the_alphabet_bound(value: str) -> None:
    # Structure only ever lowers the estimate: it never claims more than length x alphabet.
    assert estimate(value).bits <= 32 * math.log2(62) + 1e-6


def test_a_few_other_characters_do_not_buy_a_large_alphabet() -> None:
    # 30 digits and "Aa" are worth about 30 digits and two rare letters (122 bits), not 32
    # letters-and-digits (190): the alphabet is weighed by use, not by presence.
    value = "".join(secrets.choice(string.digits) for _ in range(30)) + "Aa"
    assert estimate(value).bits < MIN_BITS
    assert weakness(value) is not None
