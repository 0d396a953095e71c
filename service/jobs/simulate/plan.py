"""What each simulated reader does: the page they read, and what they do with a banner.

Pure: randomness comes in as a `random.Random`. The runner gives every visitor a generator
seeded from the run's identity (experiment, seed, rates, amounts: runner.run_identity) and the
visitor's number, so a run is reproducible whatever order the worker threads get to visitors
in (the service's own assignment is a deterministic hash of the visitor id, so the same run
meets the same variants too), and every id drawn here is the run's own.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.domain.experiment import Experiment, Targeting

# How readers treat an end-of-article appeal, roughly as newsrooms report it: most rendered
# appeals get scrolled into view, few are clicked, some are dismissed. Donors always saw and
# clicked it: the donation goes through the button.
VIEW_RATE = 0.75
CLICK_RATE = 0.03  # of readers who saw it and do not donate
DISMISS_RATE = 0.15  # of readers who saw it and did not click
DISMISS_REASONS = {"remind_later": 0.6, "close": 0.33, "already_donated": 0.07}
# Share of donors who take the frequency the banner opens on (the rest take the other one).
DEFAULT_FREQUENCY_SHARE = 0.65
# At most this many events per shown visitor (impression, view, click or dismiss): the
# runner packs visitors into batches of at most 50 events with it.
MAX_EVENTS_PER_VISITOR = 3

# Page contexts for experiments that do not restrict them.
_COUNTRIES = ("US", "US", "US", "GB", "GB", "CA", "AU", "IE", "DE", "NZ")
_SECTIONS = ("world", "politics", "business", "climate", "culture", "science", "sport")
_USER_AGENTS = {
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    ),
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    ),
}
_DEVICE_SHARES = {"desktop": 0.5, "mobile": 0.42, "tablet": 0.08}
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Visit:
    """One page view: the decision request's query, User-Agent and geo header value."""

    visitor: str
    query: dict[str, str]
    device: str
    user_agent: str
    country: str | None


def plan_visit(rng: random.Random, info: Experiment) -> Visit:
    """A reader on a page that passes the experiment's page rules."""
    t = info.targeting
    visitor = "sim-" + "".join(rng.choices(_ID_ALPHABET, k=20))
    shares = {d: s for d, s in _DEVICE_SHARES.items() if not t.devices or d in t.devices}
    device = _weighted(rng, shares)
    section = _section(rng, t)
    query = {
        "visitor": visitor,
        "placement": info.placement,
        "lang": rng.choice(t.languages) if t.languages else "en",
        "article_views": str(t.min_article_views + rng.randint(0, 12)),
        "supporter": "1" if t.audience == "supporters" else "0",
        "url": f"https://news.example/{section or 'news'}/story-{rng.randint(1000, 99999)}",
    }
    if section is not None:
        query["section"] = section
    if t.tags:
        query["tags"] = rng.choice(t.tags)
    return Visit(
        visitor=visitor,
        query=query,
        device=device,
        user_agent=rng.choice(_USER_AGENTS[device]),
        country=rng.choice(t.countries or _COUNTRIES),
    )


def device_user_agent(device: str) -> str:
    """A browser User-Agent of a device class (the service reads the device from it)."""
    return _USER_AGENTS[device][0]


def _section(rng: random.Random, t: Targeting) -> str | None:
    candidates = t.sections or _SECTIONS
    open_sections = [s for s in candidates if s not in t.exclude_sections]
    return rng.choice(open_sections) if open_sections else None


def _weighted(rng: random.Random, shares: Mapping[str, float]) -> str:
    names = list(shares)
    return rng.choices(names, weights=[shares[n] for n in names])[0]


@dataclass(frozen=True, slots=True)
class Menu:
    """The amounts a banner offers (its `content.amounts`), or a plausible default."""

    currency: str
    one_off: tuple[float, ...] = (5.0, 10.0, 25.0)
    monthly: tuple[float, ...] = (3.0, 5.0, 10.0)
    default_frequency: str = "monthly"


def menu_from_banner(amounts: Mapping[str, Any] | None, currency: str) -> Menu:
    """amounts: the decision's `banner.content.amounts`; currency: the experiment's, used
    when the banner names none."""
    if not amounts:
        return Menu(currency)
    default = Menu(currency)
    return Menu(
        currency=str(amounts.get("currency") or currency),
        one_off=tuple(float(a) for a in amounts.get("one_off") or ()) or default.one_off,
        monthly=tuple(float(a) for a in amounts.get("monthly") or ()) or default.monthly,
        default_frequency=str(amounts.get("default_frequency") or "monthly"),
    )


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    id: str
    type: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Donation:
    payment_id: str
    amount: float
    currency: str
    frequency: str


@dataclass(frozen=True, slots=True)
class Actions:
    events: tuple[PlannedEvent, ...]
    donation: Donation | None


def plan_actions(
    rng: random.Random, *, rate: float, menu: Menu, amount: float | None = None
) -> Actions:
    """What a reader shown a banner does. rate: their chance to donate; amount: a fixed
    donation (--amounts), else one of the banner's amounts."""
    events = [PlannedEvent(_uuid(rng), "impression")]
    if rng.random() < rate:
        events += [PlannedEvent(_uuid(rng), "view"), PlannedEvent(_uuid(rng), "click")]
        return Actions(tuple(events), _donation(rng, menu, amount))
    if rng.random() < VIEW_RATE:
        events.append(PlannedEvent(_uuid(rng), "view"))
        if rng.random() < CLICK_RATE:
            events.append(PlannedEvent(_uuid(rng), "click"))
        elif rng.random() < DISMISS_RATE:
            reason = _weighted(rng, DISMISS_REASONS)
            events.append(PlannedEvent(_uuid(rng), "dismiss", reason))
    return Actions(tuple(events), None)


def _donation(rng: random.Random, menu: Menu, amount: float | None) -> Donation:
    # The webhook takes one_off, monthly or annual; simulated donors give once or monthly.
    opened_on = menu.default_frequency if menu.default_frequency == "one_off" else "monthly"
    other = "monthly" if opened_on == "one_off" else "one_off"
    frequency = opened_on if rng.random() < DEFAULT_FREQUENCY_SHARE else other
    if amount is None:
        choices = menu.one_off if frequency == "one_off" else menu.monthly
        # Smaller asks are taken more often: weights 1, 1/2, 1/3, … over the sorted amounts.
        ordered = sorted(choices)
        amount = rng.choices(ordered, weights=[1 / (i + 1) for i in range(len(ordered))])[0]
    payment_id = "sim_" + "".join(rng.choices(_ID_ALPHABET, k=24))
    return Donation(payment_id, amount, menu.currency, frequency)


def _uuid(rng: random.Random) -> str:
    # Event ids are UUIDs, as the snippet's are; drawn from rng so the same run replays the
    # same ids (and a replay against the same service is counted once, as duplicates).
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
