"""Seeding experiments and their figures for export tests; local webhook and SMTP receivers."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from service.domain.experiment import Status
from service.domain.export_schedule import ExportSchedule
from service.domain.webhook_targets import AllowList
from service.jobs.exports.runner import ExportRunner
from service.jobs.exports.scheduler import Scheduler
from service.schemas.experiment import parse_experiment
from service.schemas.exports import parse_schedule
from service.settings import Settings
from service.store.sql.event_tables import daily_rollups
from service.store.sql.experiments_repo import ExperimentRepo
from service.store.sql.exports_repo import ExportRepo, StoredSchedule
from tests.support import FakeClock, experiment_doc, insert_outcomes

STARTED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
# The local webhook receiver listens on loopback, which production refuses: tests that use
# it allow it the way an operator allows an internal receiver (EXPORT_WEBHOOK_ALLOW), and
# only those tests, so every other test sees the production rule.
RECEIVER_ALLOW = "127.0.0.1"


def start_experiment(engine: Engine, key: str = "monthly-ask", **overrides: Any) -> None:
    repo = ExperimentRepo(engine)
    stored = repo.create(parse_experiment(experiment_doc(key, **overrides)), "test", STARTED)
    repo.save(
        stored.experiment.with_status(Status.running), action="start", actor="test", now=STARTED
    )


def seed_figures(engine: Engine, key: str = "monthly-ask") -> None:
    """20 visitors per variant on each of Nov 26 and 27; some converted; rollups to match."""
    outcomes, rollups = [], []
    for variant, donors in (("control", 2), ("five-dollars", 4)):
        for day in (26, 27):
            exposed = datetime(2026, 11, day, 10, tzinfo=UTC)
            for n in range(20):
                converted = n < donors
                outcomes.append(
                    {
                        "experiment_key": key,
                        "visitor": f"v-{variant}-{day}-{n:03d}",
                        "variant_key": variant,
                        "first_seen_at": exposed,
                        "first_exposure_at": exposed,
                        "last_event_at": exposed,
                        "country": "US",
                        "device": "mobile",
                        "impressions": 2,
                        "views": 1,
                        "clicks": 1 if converted else 0,
                        "dismiss_remind_later": 0 if converted else 1,
                        "dismiss_close": 0,
                        "dismiss_already_donated": 0,
                        "conversions": 1 if converted else 0,
                        "revenue": 5.0 if converted else 0.0,
                        "annualised_value": 60.0 if converted else 0.0,
                        "recurring_conversions": 1 if converted else 0,
                        "first_remind_later_at": None if converted else exposed,
                        "converted_after_remind_later": False,
                    }
                )
            rollups.append(
                {
                    "experiment_key": key,
                    "variant_key": variant,
                    "day": date(2026, 11, day),
                    "new_visitors": 20,
                    "impressions": 40,
                    "views": 20,
                    "clicks": donors,
                    "dismiss_remind_later": 20 - donors,
                    "dismiss_close": 0,
                    "dismiss_already_donated": 0,
                    "conversions": donors,
                    "revenue": 5.0 * donors,
                    "annualised_value": 60.0 * donors,
                }
            )
    with engine.begin() as conn:
        insert_outcomes(conn, outcomes)
        conn.execute(insert(daily_rollups), rollups)


def schedule(**overrides: Any) -> ExportSchedule:
    document: dict[str, Any] = {
        "name": "weekly board report",
        "cron": "0 6 * * *",
        "timezone": "UTC",
        "experiments": "all_running",
        "format": "csv",
        "destination": {"type": "directory", "path": "board"},
    }
    document.update(overrides)
    return parse_schedule(document, webhook_allow=AllowList.parse([RECEIVER_ALLOW]))


def save_schedule(engine: Engine, at: datetime, **overrides: Any) -> StoredSchedule:
    return ExportRepo(engine).create(schedule(**overrides), at)


def scheduler(
    engine: Engine, settings: Settings, clock: FakeClock, *, max_attempts: int = 3, **kw: Any
) -> Scheduler:
    return Scheduler(
        ExportRepo(engine),
        ExportRunner(engine, settings),
        clock=clock,
        max_attempts=max_attempts,
        retry_seconds=60,
        **kw,
    )


@dataclass
class Receiver:
    """A local webhook receiver: answers `status` (with `headers`), records what it was sent
    and, over TLS, the server names clients asked for (SNI)."""

    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""
    port: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    server_names: list[str | None] = field(default_factory=list)


def self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """(certificate, key) for `name`, made by the openssl command line tool."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def webhook_receiver(tls: tuple[Path, Path] | None = None) -> Iterator[Receiver]:
    """Listens on 127.0.0.1 (plain HTTP, or TLS with the given certificate and key)."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            # Header names lower-cased: HTTP ignores their case, urllib capitalizes them.
            receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(receiver.status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    receiver.url = f"http://127.0.0.1:{receiver.port}/exports"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        context.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        receiver.url = f"https://127.0.0.1:{receiver.port}/exports"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


HOUR = timedelta(hours=1)
