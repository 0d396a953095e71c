"""An experiment's alert watchers: validated with the field named (API and editor), stored,
shown and edited in the dashboard's editor."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.dashboard_support import form_fields, log_in, make_user, post_form
from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/experiments"


def test_watchers_are_stored_and_returned(client: FlaskClient, auth: Auth) -> None:
    alerts = {
        "emails": ["board@news.example"],
        "webhooks": ["https://hooks.slack.com/services/T0/B0/x"],
    }
    response = client.post(URL, json=experiment_doc(alerts=alerts), headers=auth("editor"))
    assert response.status_code == 201, response.json
    assert response.json["alerts"] == alerts
    plain = client.post(URL, json=experiment_doc("no-watchers"), headers=auth("editor"))
    assert plain.json["alerts"] == {"emails": [], "webhooks": []}


def test_bad_watchers_are_422_naming_each_field(client: FlaskClient, auth: Auth) -> None:
    alerts = {
        "emails": ["board@news.example", "not an address"],
        "webhooks": [
            "ftp://files.example",
            "https://user:pw@hooks.example/x",
            "http://127.0.0.1/x",
        ],
    }
    response = client.post(URL, json=experiment_doc(alerts=alerts), headers=auth("editor"))
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert fields["alerts.emails[1]"] == "must be an e-mail address"
    assert fields["alerts.webhooks[0]"] == "must be an absolute http or https URL"
    assert fields["alerts.webhooks[1]"].startswith("must not carry a user name or password")
    # SSRF: loopback is refused unless EXPORT_WEBHOOK_ALLOW lists it.
    assert "alerts.webhooks[2]" in fields
    unknown = client.post(
        URL, json=experiment_doc(alerts={"email": ["a@news.example"]}), headers=auth("editor")
    )
    assert unknown.status_code == 422 and "alerts.email" in unknown.json["error"]["fields"]


def test_duplicate_addresses_are_named(client: FlaskClient, auth: Auth) -> None:
    alerts = {"emails": ["board@news.example", "Board@news.example"]}
    response = client.post(URL, json=experiment_doc(alerts=alerts), headers=auth("editor"))
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"alerts.emails[1]": "is a duplicate"}


def test_the_editor_shows_and_saves_the_watchers(client: FlaskClient, services: Services) -> None:
    assert log_in(client, make_user(services, "editor")).status_code == 302
    page = client.get("/dashboard/experiments/new").get_data(as_text=True)
    assert "E-mail when a verdict changes" in page
    fields = form_fields(page)
    fields.update(
        {
            "key": "winter-ask",
            "name": "Winter ask",
            "op": "save",
            "alerts.emails": "board@news.example, data@news.example",
            "alerts.webhooks": "not a url",
        }
    )
    refused = post_form(client, "/dashboard/experiments/new", fields)
    assert refused.status_code == 422
    assert "must be an absolute http or https URL" in refused.get_data(as_text=True)
    fields["alerts.webhooks"] = "https://hooks.slack.com/services/T0/B0/x"
    assert post_form(client, "/dashboard/experiments/new", fields).status_code == 302
    stored = services.experiments.get("winter-ask")
    assert stored is not None
    assert stored.experiment.alerts.emails == ("board@news.example", "data@news.example")
    assert stored.experiment.alerts.webhooks == ("https://hooks.slack.com/services/T0/B0/x",)
    edit = form_fields(client.get("/dashboard/experiments/winter-ask/edit").get_data(as_text=True))
    assert edit["alerts.emails"] == "board@news.example, data@news.example"


def test_the_openapi_document_describes_the_watchers(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    alerts = schemas["Alerts"]["properties"]
    assert alerts["emails"]["items"]["format"] == "email"
    assert alerts["webhooks"]["items"]["format"] == "uri"
    assert alerts["webhooks"]["maxItems"] == 5
    assert "ALERT_WEBHOOK_SECRET" in alerts["webhooks"]["description"]
