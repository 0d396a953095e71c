"""The editor's reminder offer: a variant's "remind me later" as a plain snooze or an e-mail
reminder (up to three choices of when, consent, privacy page, optional labels), and the
experiment's reminder e-mail; saved and shown again as typed, errors beside their inputs."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from service.domain.experiment import ReminderChoice
from service.wiring import Services
from tests.functional.dashboard_support import csrf, form_fields, log_in, make_user, post_form

NEW = "/dashboard/experiments/new"
V = "variants[0].banner.reminder."


def _signed_in_form(client: FlaskClient, services: Services) -> dict[str, Any]:
    assert log_in(client, make_user(services, "editor")).status_code == 302
    fields = form_fields(client.get(NEW).get_data(as_text=True))
    return {**fields, "key": "remind-ask", "name": "Remind ask", "op": "save"}


def _offer(**changes: str) -> dict[str, str]:
    return {
        "variants[0].banner.reminder": "email",
        V + "choices[0].label": "In 2 weeks",
        V + "choices[0].kind": "in_days",
        V + "choices[0].in_days": "14",
        V + "choices[1].label": "Next month",
        V + "choices[1].kind": "next_month",
        V + "choices[2].label": "On 1 February",
        V + "choices[2].kind": "on",
        V + "choices[2].on": "2027-02-01",
        V + "consent": "We will e-mail you once, then delete your address.",
        V + "privacy_url": "https://news.example.org/privacy",
        V + "thanks": "Check your inbox.",
        **changes,
    }


def test_a_new_experiment_starts_with_the_plain_snooze(
    client: FlaskClient, services: Services
) -> None:
    fields = _signed_in_form(client, services)
    assert fields["variants[0].banner.reminder"] == "snooze"
    assert fields["reminder_message.subject"] == "Your reminder to support our journalism"
    assert post_form(client, NEW, fields).status_code == 302
    stored = services.experiments.get("remind-ask")
    assert stored is not None and stored.experiment.control.banner.reminder is None


def test_an_offer_typed_in_the_editor_is_saved_and_shown_again_as_typed(
    client: FlaskClient, services: Services
) -> None:
    fields = _signed_in_form(client, services)
    fields.update(_offer())
    fields["reminder_message.subject"] = "Your reminder from the Lantern"
    fields["reminder_message.body"] = "You asked us to remind you.\n\nHere it is."
    created = post_form(client, NEW, fields)
    assert created.status_code == 302, created.get_data(as_text=True)
    stored = services.experiments.get("remind-ask")
    assert stored is not None
    offer = stored.experiment.control.banner.reminder
    assert offer is not None
    assert offer.choices == (
        ReminderChoice("In 2 weeks", in_days=14),
        ReminderChoice("Next month", next_month=True),
        ReminderChoice("On 1 February", on="2027-02-01"),
    )
    assert offer.consent == "We will e-mail you once, then delete your address."
    assert offer.privacy_url == "https://news.example.org/privacy"
    assert (offer.email_label, offer.submit_label) == ("Your e-mail address", "Remind me")
    assert offer.thanks == "Check your inbox."
    message = stored.experiment.reminder_message
    assert message.subject == "Your reminder from the Lantern"
    assert message.body == "You asked us to remind you.\n\nHere it is."

    # Document to form: the editor shows what was saved, row by row.
    edit_page = client.get("/dashboard/experiments/remind-ask/edit").get_data(as_text=True)
    shown = form_fields(edit_page)
    for name, value in _offer().items():
        assert shown[name] == value, name
    assert shown[V + "choices[1].in_days"] == shown[V + "choices[1].on"] == ""
    assert shown["reminder_message.body"] == "You asked us to remind you.\n\nHere it is."

    # Form to document: saving it unchanged changes nothing.
    saved = post_form(client, "/dashboard/experiments/remind-ask/edit", {**shown, "op": "save"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    again = services.experiments.get("remind-ask")
    assert again is not None
    assert again.experiment.to_document() == stored.experiment.to_document()

    # Back to "snooze only": the offer goes, whatever its inputs still hold.
    edit_page = client.get("/dashboard/experiments/remind-ask/edit").get_data(as_text=True)
    shown = {**form_fields(edit_page), "variants[0].banner.reminder": "snooze", "op": "save"}
    assert post_form(client, "/dashboard/experiments/remind-ask/edit", shown).status_code == 302
    snoozing = services.experiments.get("remind-ask")
    assert snoozing is not None and snoozing.experiment.control.banner.reminder is None


def test_a_blank_row_is_no_choice(client: FlaskClient, services: Services) -> None:
    fields = _signed_in_form(client, services)
    blank = {V + f"choices[{j}].{f}": "" for j in (1, 2) for f in ("label", "in_days", "on")}
    fields.update(_offer(**blank))
    assert post_form(client, NEW, fields).status_code == 302
    stored = services.experiments.get("remind-ask")
    assert stored is not None and stored.experiment.control.banner.reminder is not None
    assert stored.experiment.control.banner.reminder.choices == (
        ReminderChoice("In 2 weeks", in_days=14),
    )


def _error(html: str, name: str) -> str:
    fid = "f-" + name.replace("[", "-").replace("]", "").replace(".", "-")
    match = re.search(rf'id="{re.escape(fid)}-error">([^<]+)<', html)
    assert match, f"no error beside {name}"
    return match.group(1)


def test_errors_land_beside_the_row_and_input_they_name(
    client: FlaskClient, services: Services
) -> None:
    fields = _signed_in_form(client, services)
    fields.update(
        _offer(
            **{
                V + "choices[0].in_days": "",  # "in a number of days" with no number
                V + "choices[1].label": "",  # a row without its label
                V + "choices[1].kind": "in_days",
                V + "choices[1].in_days": "30",
                V + "choices[2].on": "2027-02-30",
                V + "privacy_url": "javascript:alert(1)",
                V + "consent": "",
                "reminder_message.subject": "x" * 151,
            }
        )
    )
    refused = post_form(client, NEW, fields)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "must be" in _error(html, V + "choices[0].in_days")
    assert _error(html, V + "choices[1].label")
    assert "date" in _error(html, V + "choices[2].on")
    assert _error(html, V + "privacy_url")
    assert _error(html, V + "consent")
    assert "150" in _error(html, "reminder_message.subject")
    assert 'value="2027-02-30"' in html  # kept as typed
    assert "<code>" not in html  # nothing fell through to the list of other errors

    # Two choices with one label: the second row says so, beside its "when".
    fields.update(_offer(**{V + "choices[1].label": "In 2 weeks"}))
    fields["reminder_message.subject"] = "Fine"
    twice = post_form(client, NEW, fields)
    assert twice.status_code == 422
    assert _error(twice.get_data(as_text=True), V + "choices[1].kind") == "is a duplicate"


def test_the_live_preview_carries_the_offer(client: FlaskClient, services: Services) -> None:
    fields = _signed_in_form(client, services)
    fields.update(_offer())
    variant = {k.split("].", 1)[1]: v for k, v in fields.items() if k.startswith("variants[0].")}
    token = csrf(client.get(NEW))
    answer = client.post(
        "/dashboard/banner-preview", json={"fields": variant}, headers={"X-CSRF-Token": token}
    )
    assert answer.status_code == 200
    reminder: Any = answer.json["banner"]["content"]["reminder"]  # type: ignore[index]
    assert [c["label"] for c in reminder["choices"]] == [
        "In 2 weeks",
        "Next month",
        "On 1 February",
    ]
    assert reminder["privacy_url"] == "https://news.example.org/privacy"
    snooze = client.post(
        "/dashboard/banner-preview",
        json={"fields": {**variant, "banner.reminder": "snooze"}},
        headers={"X-CSRF-Token": token},
    )
    assert snooze.json["banner"]["content"]["reminder"] is None  # type: ignore[index]
