"""The demo experiment: a newsroom's end-of-article appeal, $2 vs $5 monthly ask.

The copy is our own, written in the style of a reader-funded newsroom's appeal.
"""

from __future__ import annotations

from typing import Any

DEMO_KEY = "demo-monthly-ask"

_PARAGRAPHS = [
    "Every week more people read our reporting than ever before, and every week a little "
    "more of what it costs to produce is paid for by readers like you rather than by "
    "advertisers or owners.",
    "That is why our journalism is free for anyone to read, wherever they are and whatever "
    "they can afford. Nobody decides what we investigate except our editors, and nobody "
    "can tell us to drop a story that matters.",
    "If you value what you have just read, a regular gift keeps it going. It takes less "
    "than a minute, and you can cancel at any time.",
]


def _banner(
    monthly: list[int], highlight: str, cta: str, public_url: str, selected: int
) -> dict[str, Any]:
    return {
        "template": "epic",
        "heading": "…we have a small favor to ask",
        "paragraphs": _PARAGRAPHS,
        "highlight": highlight,
        "cta": {"label": cta, "url": f"{public_url}/demo/donate"},
        "amounts": {
            "currency": "USD",
            "one_off": [10, 25, 50],
            "monthly": monthly,
            "default_frequency": "monthly",
            # The ask the variant tests is the amount selected, and %%SELECTED_AMOUNT%% names it.
            "default_amount": selected,
        },
        "payment_methods": ["card", "paypal", "apple_pay"],
        "remind_later_label": "Not ready to support today? Remind me later.",
    }


# The five-dollar variant's "remind me later" offers an e-mail reminder; control keeps the
# plain snooze, so the demo's results can compare the two.
def _reminder_offer(public_url: str) -> dict[str, Any]:
    return {
        "choices": [
            {"label": "In 2 weeks", "in_days": 14},
            {"label": "Next month", "next_month": True},
        ],
        "consent": "We will e-mail you once at the time you choose, then delete your address. "
        "You can unsubscribe from the message at any time.",
        "privacy_url": f"{public_url}/demo/privacy",
        "email_label": "Your e-mail address",
        "submit_label": "Remind me",
        "thanks": "Thank you. Please confirm your reminder through the e-mail we just sent you.",
    }


def demo_document(public_url: str) -> dict[str, Any]:
    return {
        "key": DEMO_KEY,
        "name": "Demo: monthly ask, $2 vs $5",
        "placement": "article-end",
        "priority": 10,
        # Every field left out takes the document's default.
        "targeting": {"audience": "non_supporters", "exclude_sections": ["obituaries"]},
        "caps": {"max_impressions": 20},
        "analysis": {"sequential": True},
        "variants": [
            {
                "key": "control",
                "weight": 50,
                "banner": _banner(
                    [2, 5, 10],
                    "Support us monthly from just %%SELECTED_AMOUNT%%.",
                    "Support us",
                    public_url,
                    selected=2,
                ),
            },
            {
                "key": "five-dollars",
                "weight": 50,
                "banner": {
                    **_banner(
                        [5, 10, 20],
                        "Give %%SELECTED_AMOUNT%% a month and help keep our reporting open to all.",
                        "Give monthly",
                        public_url,
                        selected=5,
                    ),
                    "reminder": _reminder_offer(public_url),
                },
            },
        ],
    }
