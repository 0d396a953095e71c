"""How guessable a secret is, judged without trusting its length or its alphabet alone.

A long value is not a strong one: `aaaa…`, `passwordpassword…`, `0123456789…`, `qwertyuiop…`
and `test-secret-key-xxxx…` are all long. An attacker guesses by structure first (runs,
repeats, sequences, keyboard walks, words), so the estimate does too, in the spirit of zxcvbn:
the value is parsed, by dynamic programming, into the cheapest mix of

- fresh characters, each costing its class (lower case, upper case, digits, punctuation,
  anything else) as often as the value itself uses that class, plus its place in the class;
- predicted characters, where one rule "this character is `delta` steps after the one `lag`
  places back" holds, in code-point order or along a keyboard row or column; a rule costs
  RULE_BITS to start and CONTINUE_BITS per further character it predicts. delta 0 covers
  runs (lag 1) and repeated units of any length up to MAX_REPEAT_LAG ("abcabc…");
- common words, each costing WORD_BITS;

and the cheapest parse's bits are its strength. A random value parses almost entirely into
fresh characters (an accidental "abc" saves a few bits), so `secrets.token_urlsafe(32)`
(256 bits) and `openssl rand -hex 32` score far above MIN_BITS.

Values the project itself publishes (README, docs, tests, benches) are refused by name,
whatever their score: anyone can read them.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

MIN_LENGTH = 32
# The usual security level of a symmetric key; 32 random characters from any alphabet of 16
# or more symbols reach it, so the minimum length and this threshold agree.
MIN_BITS = 128.0
# Starting a rule costs about two fresh characters, so chance pairs in a random value save
# nothing and only real structure (three or more predictable characters) is cheaper.
RULE_BITS = 10.0
CONTINUE_BITS = 0.5
MAX_REPEAT_LAG = 64
# Interleaved sequences ("a1b2c3…") need a lag above 1; beyond 4 they are too rare to matter.
MAX_STEP_LAG = 4
STEP_DELTAS = (-2, -1, 1, 2)
ANALYSED_PREFIX = 512

HOW_TO_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'

# Orderings along which "one step" is a guessable move. Keyboard orderings are matched
# case-insensitively; row ends joining the next row's start is a harmless over-match.
_KEYBOARD_ORDERINGS = (
    "`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./",
    '~!@#$%^&*()_+qwertyuiop{}|asdfghjkl:"zxcvbnm<>?',
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/-['=]",
    "789456123",  # the number pad
)

# Words people put into secrets, and placeholders from documentation. Lower case.
_WORD_LIST = """
password passwd pass secret secrets key keys token changeme change default admin
administrator root user login letmein welcome hello test testing tests demo example sample
dummy fake placeholder insecure unsafe replace your here value local localhost dev
development prod production staging bench webhook hook signing smallfavor small favor
favour donate donation django flask stripe whsec api app service qwerty dragon master
monkey football baseball shadow sunshine iloveyou princess trustno1 superman batman abc123
manifest config setting settings env environment docker compose kube kubernetes deploy
"""
_WORDS = frozenset(_WORD_LIST.split())
_MAX_WORD = max(len(w) for w in _WORDS)
WORD_BITS = math.log2(len(_WORDS)) + 1.0  # +1: its capitalisation

# Values published in this repository or in well-known documentation: refused by name.
# Compared after strip() and lower().
PUBLISHED_VALUES = frozenset(
    v.lower()
    for v in (
        "test-secret-key-" + "x" * 32,
        "test-webhook-secret-" + "y" * 32,
        "e2e-secret-" + "k" * 40,
        "e2e-webhook-" + "w" * 40,
        "bench-secret-" + "s" * 40,
        "bench-webhook-" + "w" * 40,
        "bench-memory-secret-" + "s" * 40,
        "bench-memory-webhook-" + "w" * 40,
        "Zk3q9-fake-secret-for-manifest-tests-0123456789",
        "small-favor-demo",
        # Flask's quickstart prints this as the example output of secrets.token_hex().
        "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf",
        "changeme",
        "change-me",
        "secret",
        "dev",
        "development",
    )
)


@dataclass(frozen=True, slots=True)
class Strength:
    bits: float
    # What made the value cheaper than random, for the message ("runs", "repeats", …).
    patterns: tuple[str, ...]


def weakness(value: str) -> str | None:
    """Why `value` is not a good secret, in words that never repeat it; None if it is good."""
    if value.strip().lower() in PUBLISHED_VALUES:
        return "is a published example value"
    if len(value) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    # Structure past the first few hundred characters cannot make a value guessable that its
    # start already makes strong; the cap bounds the work at start-up.
    strength = estimate(value[:ANALYSED_PREFIX])
    if strength.bits < MIN_BITS:
        found = ", ".join(strength.patterns) or "a small alphabet"
        return (
            f"is too easy to guess (about {strength.bits:.0f} bits, {MIN_BITS:.0f} needed; "
            f"it has {found})"
        )
    return None


def estimate(value: str) -> Strength:
    """The cheapest parse of `value` (module docstring), in bits."""
    n = len(value)
    if n == 0:
        return Strength(0.0, ())
    fresh = _fresh_bits(value)
    rules = _rules(value)
    # best[i]: cheapest parse of value[:i]; came[i]: (what its last step was, where it began).
    inf = math.inf
    best = [0.0] + [inf] * n
    came: list[tuple[str, int]] = [("", 0)] * (n + 1)
    # Per rule that predicts character i-1: the cheapest parse of value[:i] ending in that
    # rule's chain, and where the chain began.
    running: dict[tuple[int, int, int], tuple[float, int]] = {}
    for i in range(n):
        if best[i] + fresh[i] < best[i + 1]:
            best[i + 1], came[i + 1] = best[i] + fresh[i], ("", i)
        now: dict[tuple[int, int, int], tuple[float, int]] = {}
        for rule in rules[i]:
            chain = running.get(rule)
            if chain is not None and chain[0] + CONTINUE_BITS <= best[i] + RULE_BITS:
                now[rule] = (chain[0] + CONTINUE_BITS, chain[1])
            else:
                now[rule] = (best[i] + RULE_BITS, i)
            if now[rule][0] < best[i + 1]:
                best[i + 1], came[i + 1] = now[rule][0], (_rule_kind(rule), now[rule][1])
        running = now
        lowered = value[i : i + _MAX_WORD].lower()
        for length in range(3, min(_MAX_WORD, n - i) + 1):
            if lowered[:length] in _WORDS and best[i] + WORD_BITS < best[i + length]:
                best[i + length], came[i + length] = best[i] + WORD_BITS, ("common words", i)
    patterns: set[str] = set()
    at = n
    while at > 0:
        kind, at = came[at]
        if kind:
            patterns.add(kind)
    return Strength(best[n], tuple(sorted(patterns)))


_CLASSES = (
    (string.ascii_lowercase, 26),
    (string.ascii_uppercase, 26),
    (string.digits, 10),
    (string.punctuation + " ", 33),
)
_CLASS_OF = {c: k for k, (members, _) in enumerate(_CLASSES) for c in members}


def _fresh_bits(value: str) -> list[float]:
    """What each character costs when nothing predicts it: which class it is in (from the
    value's own mix of classes) plus which member of the class. A value of 30 digits and an
    "Aa" costs about as much as digits alone, not as much as 32 letters-and-digits."""
    classes = [_CLASS_OF.get(c, len(_CLASSES)) for c in value]
    counts = {k: classes.count(k) for k in set(classes)}
    sizes = [size for _, size in _CLASSES] + [100]  # 100: anything outside printable ASCII
    return [math.log2(len(value) / counts[k]) + math.log2(sizes[k]) for k in classes]


# A rule is (ordering, lag, delta); ordering 0 is code-point order, 1.. the keyboards.
def _rules(value: str) -> list[list[tuple[int, int, int]]]:
    """For each position, the rules that predict its character from an earlier one."""
    n = len(value)
    lowered = value.lower()
    places = [
        [{c: p for p, c in enumerate(ordering)}.get(c) for c in lowered]
        for ordering in _KEYBOARD_ORDERINGS
    ]
    points = [ord(c) for c in value]
    found: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    for i in range(1, n):
        for lag in range(1, min(i, MAX_REPEAT_LAG) + 1):
            if value[i] == value[i - lag]:
                found[i].append((0, lag, 0))
        for lag in range(1, min(i, MAX_STEP_LAG) + 1):
            step = points[i] - points[i - lag]
            if step in STEP_DELTAS:
                found[i].append((0, lag, step))
            for k, place in enumerate(places, start=1):
                here, there = place[i], place[i - lag]
                if here is not None and there is not None and here - there in STEP_DELTAS:
                    found[i].append((k, lag, here - there))
    return found


def _rule_kind(rule: tuple[int, int, int]) -> str:
    ordering, lag, delta = rule
    if delta == 0:
        return "runs of one character" if lag == 1 else "repeated parts"
    return "sequences" if ordering == 0 else "keyboard walks"
