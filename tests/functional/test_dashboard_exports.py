"""The exports page: create a schedule from the form (errors beside fields), run it now and
see the run the scheduler recorded, edit without re-typing the webhook secret, delete."""

from __future__ import annotations

import re
from datetime import datetime

from flask.testing import FlaskClient

from service.settings import Settings
from service.store.sql.exports_repo import ExportRepo
from service.wiring import Services
from tests.functional.dashboard_support import csrf, form_fields, log_in, make_user, post_form
from tests.integration.export_support import scheduler, seed_figures, start_experiment

# <time datetime="2026-12-07T06:00:00Z" title="…">7 Dec 2026, 06:00 UTC</time>
_TIME = (
    r'<time datetime="(\d{4}-\d\d-\d\dT[\d:.]+Z)" title="[^"]+">'
    r"(\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC)</time>"
)


def _form(client: FlaskClient, **overrides: str) -> dict[str, object]:
    fields = form_fields(client.get("/dashboard/exports/new").get_data(as_text=True))
    fields.update({"name": "Finance weekly", "scope": "all", **overrides})
    return fields


def test_create_run_now_and_read_the_run(
    client: FlaskClient, services: Services, settings: Settings
) -> None:
    start_experiment(services.engine)
    seed_figures(services.engine)
    log_in(client, make_user(services, "editor"))
    created = post_form(client, "/dashboard/exports/new", _form(client))
    assert created.status_code == 302, created.get_data(as_text=True)
    page = client.get(created.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Finance weekly" in html and "No runs yet" in html
    mondays = re.findall(rf"<li>{_TIME}</li>", html)
    assert len(mondays) == 3 and all(iso.endswith("T06:00:00Z") for iso, _ in mondays)
    assert all(text.endswith(", 06:00 UTC") for _, text in mondays)
    queued = client.post(created.headers["Location"] + "/run", data={"csrf_token": csrf(page)})
    assert queued.status_code == 302
    assert "is queued" in client.get(queued.headers["Location"]).get_data(as_text=True)
    scheduler(services.engine, settings, services.clock).run_pending()
    runs = client.get(created.headers["Location"]).get_data(as_text=True)
    table = runs[runs.index('id="runs-table"') :]
    assert "succeeded" in table and "run now" in table
    files = [p.name for p in (settings.export_dir / "weekly").iterdir()]
    assert len(files) == 1 and files[0].startswith("monthly-ask_")
    listing = client.get("/dashboard/exports").get_data(as_text=True)
    assert "Finance weekly" in listing and "succeeded" in listing
    # The next run and the last run's end read as dates; the exact instant stays in the
    # datetime attribute, never in the text (it used to read 2026-12-05T17:18:00.988045Z).
    shown = re.findall(_TIME, listing)
    assert len(shown) == 2
    now = services.clock()
    assert shown[1][1] == f"{now.day} {now:%b %Y, %H:%M} UTC"
    assert datetime.fromisoformat(shown[1][0]) == now
    assert not re.search(r"\d{4}-\d\d-\d\dT", re.sub(r"<[^>]*>", "", listing))


def test_bad_fields_are_named_beside_them(client: FlaskClient, services: Services) -> None:
    log_in(client, make_user(services, "editor"))
    response = post_form(
        client,
        "/dashboard/exports/new",
        _form(
            client, cron="every monday", timezone="Mars/Olympus", **{"destination.path": "../etc"}
        ),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("cron", "timezone", "destination-path"):
        assert re.search(rf'id="f-{field}-error">[^<]+<', html), field
    assert 'value="every monday"' in html
    assert ExportRepo(services.engine).find() == []


def test_an_internal_webhook_is_refused_beside_its_field(
    client: FlaskClient, services: Services
) -> None:
    log_in(client, make_user(services, "editor"))
    for url in ("http://169.254.169.254/latest/meta-data/", "https://[::ffff:7f00:1]:22/"):
        fields = _form(
            client,
            **{
                "destination.type": "webhook",
                "destination.url": url,
                "destination.secret": "s3cret-signing-key-123456",
            },
        )
        response = post_form(client, "/dashboard/exports/new", fields)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        error = re.search(r'id="f-destination-url-error">([^<]+)<', html)
        assert error is not None and "must not point to an internal host" in error[1]
        assert "EXPORT_WEBHOOK_ALLOW" in error[1]
        assert f'value="{url}"' in html and 'value="Finance weekly"' in html
    assert ExportRepo(services.engine).find() == []


def test_webhook_secret_is_never_shown_and_kept_on_edit(
    client: FlaskClient, services: Services
) -> None:
    log_in(client, make_user(services, "editor"))
    fields = _form(
        client,
        **{
            "destination.type": "webhook",
            "destination.url": "https://finance.example/hooks/smallfavor",
            "destination.secret": "s3cret-signing-key-123456",
        },
    )
    created = post_form(client, "/dashboard/exports/new", fields)
    assert created.status_code == 302
    schedule_id = int(created.headers["Location"].rsplit("/", 1)[1])
    edit_url = f"/dashboard/exports/{schedule_id}/edit"
    page = client.get(edit_url).get_data(as_text=True)
    assert "s3cret-signing-key" not in page
    edited = form_fields(page)
    assert edited["destination.secret"] == "********"
    edited["name"] = "Finance weekly (webhook)"
    saved = post_form(client, edit_url, edited)
    assert saved.status_code == 302, re.findall(
        r'field-error"[^>]*>([^<]+)<', saved.get_data(as_text=True)
    )
    stored = ExportRepo(services.engine).get(schedule_id)
    assert stored is not None and stored.schedule.name == "Finance weekly (webhook)"
    assert stored.schedule.destination.secret == "s3cret-signing-key-123456"  # type: ignore[union-attr]


def test_viewer_sees_schedules_but_cannot_change_them(
    client: FlaskClient, services: Services
) -> None:
    log_in(client, make_user(services, "editor"))
    created = post_form(client, "/dashboard/exports/new", _form(client))
    schedule_id = int(created.headers["Location"].rsplit("/", 1)[1])
    client.post("/dashboard/logout", data={"csrf_token": csrf(client.get("/dashboard/"))})
    log_in(client, make_user(services, "viewer"))
    page = client.get(f"/dashboard/exports/{schedule_id}")
    assert page.status_code == 200 and "Run now" not in page.get_data(as_text=True)
    token = csrf(page)
    assert (
        client.post(f"/dashboard/exports/{schedule_id}/run", data={"csrf_token": token}).status_code
        == 403
    )
    assert (
        client.post(
            f"/dashboard/exports/{schedule_id}/delete", data={"csrf_token": token}
        ).status_code
        == 403
    )
    assert ExportRepo(services.engine).runs(schedule_id) == []


def test_delete_asks_first(client: FlaskClient, services: Services) -> None:
    log_in(client, make_user(services, "editor"))
    created = post_form(client, "/dashboard/exports/new", _form(client))
    schedule_id = int(created.headers["Location"].rsplit("/", 1)[1])
    confirm = client.get(f"/dashboard/exports/{schedule_id}/delete")
    assert "Yes, delete it" in confirm.get_data(as_text=True)
    assert ExportRepo(services.engine).get(schedule_id) is not None
    done = client.post(
        f"/dashboard/exports/{schedule_id}/delete", data={"csrf_token": csrf(confirm)}
    )
    assert done.status_code == 302
    assert ExportRepo(services.engine).get(schedule_id) is None
