"""The editor's rows for a list of objects (a reminder offer's choices): a document becomes
form values and back unchanged, and an error on an item, a row or the list lands on an input
the editor draws."""

from __future__ import annotations

from service.dashboard.experiment_form import (
    from_document,
    place_errors,
    to_document,
)
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

OFFER = {
    "choices": [
        {"label": "In 2 weeks", "in_days": 14},
        {"label": "Next month", "next_month": True},
        {"label": "On 1 February", "on": "2027-02-01"},
    ],
    "consent": "We will e-mail you once.",
    "privacy_url": "https://news.example.org/privacy",
}


def test_a_document_with_an_offer_comes_back_from_the_form_unchanged() -> None:
    doc = experiment_doc()
    doc["variants"][1]["banner"]["reminder"] = OFFER
    full = parse_experiment(doc).to_document()
    state = from_document(full)
    assert state.variants[0]["banner.reminder"] == "snooze"
    assert state.variants[1]["banner.reminder"] == "email"
    assert [state.variants[1][f"banner.reminder.choices[{j}].kind"] for j in range(3)] == [
        "in_days",
        "next_month",
        "on",
    ]
    back = to_document(state, status=full["status"])
    assert parse_experiment(back).to_document() == full


def test_errors_on_items_rows_and_the_list_land_on_drawn_inputs() -> None:
    doc = experiment_doc()
    doc["variants"][0]["banner"]["reminder"] = OFFER
    state = from_document(parse_experiment(doc).to_document())
    p = "variants[0].banner.reminder"
    place_errors(
        state,
        {
            f"{p}.choices[2].on": "must be a date written YYYY-MM-DD",
            f"{p}.choices[1]": "is a duplicate",
            f"{p}.choices": "at most 3 items",
            p: "must be an object",
        },
    )
    assert state.variant_errors[0] == {
        "banner.reminder.choices[2].on": "must be a date written YYYY-MM-DD",
        "banner.reminder.choices[1]": "is a duplicate",
        "banner.reminder.choices": "at most 3 items",
        "banner.reminder": "must be an object",
    }
    assert state.other_errors == {}
