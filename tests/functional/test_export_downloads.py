"""Downloading a finished export run's files, from the dashboard and the admin API: the bytes
on disk with the format's Content-Type and file name, for viewers too; only names the run
recorded (a crafted path is a 404); a file deleted since is a 404 saying it is gone; a
webhook or e-mail run says where its files went instead of linking them."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.domain.export_schedule import RunStatus
from service.settings import Settings
from service.store.sql.exports_repo import ExportRepo, ExportRun, RunFile
from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.integration.export_support import (
    save_schedule,
    scheduler,
    seed_figures,
    start_experiment,
)

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def run(services: Services, settings: Settings) -> ExportRun:
    """A succeeded ad-hoc run of a schedule writing CSV to EXPORT_DIR/board."""
    start_experiment(services.engine)
    seed_figures(services.engine)
    stored = save_schedule(services.engine, services.clock())
    repo = ExportRepo(services.engine)
    queued = repo.queue_adhoc(stored.id, services.clock())
    scheduler(services.engine, settings, services.clock).run_pending()
    done = repo.run(queued.id)
    assert done is not None and done.status == RunStatus.succeeded, done
    return done


def _url(run: ExportRun, name: str, prefix: str = "/dashboard") -> str:
    return f"{prefix}/exports/{run.schedule_id}/runs/{run.id}/files/{name}"


def test_a_viewer_downloads_a_run_file_from_the_runs_page(
    client: FlaskClient, services: Services, settings: Settings, run: ExportRun
) -> None:
    (recorded,) = run.files
    on_disk = settings.export_dir / "board" / recorded.name
    assert recorded.name.startswith("monthly-ask_") and recorded.bytes == on_disk.stat().st_size
    log_in(client, make_user(services, "viewer"))
    page = client.get(f"/dashboard/exports/{run.schedule_id}").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+/files/[^"]+)" download>([^<]+)</a>', page)
    assert links == [(_url(run, recorded.name), recorded.name)]
    # The run's times are <time> elements local_time.js shows in the viewer's time zone.
    row = page[page.index('id="runs-table"') :]
    assert row.count('<time datetime="') >= 2 and "local_time.js" in page

    response = client.get(links[0][0])
    assert response.status_code == 200
    assert response.data == on_disk.read_bytes()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f"attachment; filename={recorded.name}"


def test_the_admin_api_serves_the_same_file_to_viewers_only_with_a_token(
    client: FlaskClient, settings: Settings, auth: Auth, run: ExportRun
) -> None:
    (recorded,) = run.files
    url = _url(run, recorded.name, "/v1/admin")
    assert client.get(url).status_code == 401
    response = client.get(url, headers=auth("viewer"))
    assert response.status_code == 200
    assert response.data == (settings.export_dir / "board" / recorded.name).read_bytes()
    assert response.headers["Content-Disposition"] == f"attachment; filename={recorded.name}"
    listed = client.get(f"/v1/admin/exports/{run.schedule_id}/runs", headers=auth("viewer"))
    (resource,) = listed.json["runs"]  # type: ignore[index]
    assert resource["destination_type"] == "directory"
    assert resource["files"] == [
        {"name": recorded.name, "bytes": recorded.bytes, "rows": recorded.rows,
         "media_type": "text/csv; charset=utf-8"}
    ]  # fmt: skip


def test_signed_out_people_are_sent_to_sign_in(client: FlaskClient, run: ExportRun) -> None:
    response = client.get(_url(run, run.files[0].name))
    assert response.status_code == 302 and "/dashboard/login" in response.headers["Location"]


def test_only_files_the_run_recorded_can_be_downloaded(
    client: FlaskClient, services: Services, settings: Settings, auth: Auth, run: ExportRun
) -> None:
    board = settings.export_dir / "board"
    (board / "not-from-this-run.csv").write_text("secret\n")
    outside = settings.export_dir.parent / "outside.csv"
    outside.write_text("outside EXPORT_DIR\n")
    name = run.files[0].name
    crafted = [
        _url(run, "not-from-this-run.csv"),
        _url(run, ".."),
        _url(run, "..%2F..%2Foutside.csv"),
        _url(run, "%2e%2e%2fboard%2f" + name),
        f"/dashboard/exports/{run.schedule_id}/runs/{run.id}/files/../../{name}",
        f"/dashboard/exports/{run.schedule_id}/runs/{run.id}/files/sub/{name}",
        f"/dashboard/exports/{run.schedule_id + 1}/runs/{run.id}/files/{name}",
        f"/dashboard/exports/{run.schedule_id}/runs/{run.id + 1}/files/{name}",
    ]
    log_in(client, make_user(services, "viewer"))
    for url in crafted:
        assert client.get(url).status_code == 404, url
        api = url.replace("/dashboard", "/v1/admin", 1)
        assert client.get(api, headers=auth("viewer")).status_code == 404, api
    # A recorded name whose file became a symlink out of EXPORT_DIR is not followed there.
    (board / name).unlink()
    (board / name).symlink_to(outside)
    response = client.get(_url(run, name))
    assert response.status_code == 404 and b"outside EXPORT_DIR" not in response.data


def test_a_file_deleted_since_the_run_is_a_404_saying_it_is_gone(
    client: FlaskClient, services: Services, settings: Settings, auth: Auth, run: ExportRun
) -> None:
    name = run.files[0].name
    (settings.export_dir / "board" / name).unlink()
    log_in(client, make_user(services, "viewer"))
    response = client.get(_url(run, name))
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "The file is gone" in page and name in page and "<html" in page
    api = client.get(_url(run, name, "/v1/admin"), headers=auth("viewer"))
    assert api.status_code == 404 and "the file is gone" in api.get_data(as_text=True)


def test_a_webhook_run_says_where_its_files_went_instead_of_linking_them(
    client: FlaskClient, services: Services, auth: Auth
) -> None:
    start_experiment(services.engine)
    now = services.clock()
    stored = save_schedule(
        services.engine,
        now,
        destination={"type": "webhook", "url": "https://hooks.example/in", "secret": "x" * 24},
    )
    repo = ExportRepo(services.engine)
    started = repo.start_adhoc(stored.id, "test", now)
    sent = RunFile("monthly-ask_2026-11-01_2026-11-28_run1.csv", 120, 2, "text/csv")
    assert repo.finish(
        started,
        status=RunStatus.succeeded,
        now=now,
        rows=2,
        size=120,
        destination="https://hooks.example/in",
        destination_type="webhook",
        files=[sent],
    )
    log_in(client, make_user(services, "viewer"))
    page = client.get(f"/dashboard/exports/{stored.id}").get_data(as_text=True)
    assert sent.name in page and "/files/" not in page
    assert "Sent to https://hooks.example/in; this server keeps no copy." in page
    url = f"/exports/{stored.id}/runs/{started.id}/files/{sent.name}"
    assert client.get("/dashboard" + url).status_code == 404
    assert client.get("/v1/admin" + url, headers=auth("viewer")).status_code == 404
