"""The document a new experiment starts from: a complete, valid end-of-article appeal, so an
editor changes what they test instead of typing every field."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from service.domain.experiment import Analysis, Caps, ReminderMessage, SnoozeHours


def starter_variant(key: str, cta_url: str) -> dict[str, Any]:
    return {
        "key": key,
        "weight": 50,
        "banner": {
            "template": "epic",
            "heading": "…we have a small favor to ask",
            "paragraphs": [
                "Our reporting is free for everyone to read, because readers like you pay "
                "for it. Every gift, however small, keeps it that way.",
            ],
            "highlight": "Please support us with %%SELECTED_AMOUNT%% a month.",
            "cta": {"label": "Support us", "url": cta_url},
            "amounts": {
                "currency": "USD",
                "one_off": [5, 10, 25],
                "monthly": [2, 5, 10],
                "annual": [],
                "default_frequency": "monthly",
            },
            "payment_methods": ["card", "paypal", "apple_pay"],
            "remind_later_label": "Not ready to support today? Remind me later.",
        },
    }


def starter_document(cta_url: str) -> dict[str, Any]:
    # Fields left out show blank: key, name, dates, bandit settings and seed are the editor's.
    return {
        "placement": "article-end",
        "priority": 10,
        "traffic": 1.0,
        "holdout": 0.0,
        "targeting": {"audience": "non_supporters", "min_article_views": 0},
        "caps": {**asdict(Caps()), "max_impressions": 4},
        "snooze_hours": asdict(SnoozeHours()),  # the document's defaults, shown to edit
        "attribution_days": 7,
        "allocation": "fixed",
        "analysis": {**asdict(Analysis()), "sequential": True},
        # The reminder e-mail of variants that offer one: the defaults, shown to edit.
        "reminder_message": asdict(ReminderMessage()),
        "variants": [starter_variant("control", cta_url)],
    }
