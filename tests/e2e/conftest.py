"""Browser tests: a live gunicorn serving the app, driven by Playwright on Debian's chromium.

Without a chromium the tests skip with the reason, except under CI=true, where a missing
browser fails the run (CI installs it; a silent skip would hide that).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings
from service.wiring import Services
from tests.support import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless Chromium says "HeadlessChrome", which the bot filter rightly drops; the tests play
# a reader on an ordinary desktop Chrome.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Python playwright is not installed (pip install '.[browser]')"
    return None


@pytest.fixture(scope="session")
def live_env(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> dict[str, str]:
    port = free_port()
    return {
        "VAR_DIR": str(tmp_path_factory.mktemp("live-var")),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "e2e-secret-" + "k" * 40,
        "WEBHOOK_SECRET": "e2e-webhook-" + "w" * 40,
        "STRIPE_WEBHOOK_SECRET": "whsec_e2e" + "s" * 32,
        "CONFIG_CHECK_MS": "0",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "RATE_LIMIT_PER_MINUTE": "0",
        "DECISION_LOG_SAMPLE_RATE": "0",
        "LOG_LEVEL": "WARNING",
        "REDIS_TIMEOUT_MS": "1000",  # as in tests/conftest.py: a busy machine is not an outage
    }


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str], migrated_engine: Any) -> Iterator[str]:
    url = live_env["PUBLIC_URL"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy/gunicorn.conf.py"),
            "--access-logfile",
            "/dev/null",
            "service:create_app()",
        ],
        env={**os.environ, **live_env},
        cwd=ROOT,
    )
    try:
        wait_until_ready(url + "/readyz", process)
        yield url
    finally:  # also when the session is interrupted: no gunicorn outlives it
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def live(
    live_server: str, live_env: dict[str, str], clean_db: Any, redis_client: Any
) -> Iterator[Services]:
    """The live server's backends, emptied for this test, for arranging and checking."""
    svc = Services.build(Settings.from_env(live_env))
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _chromium_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run under CI=true: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=USER_AGENT)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Any) -> Callable[[str], None]:
    def take(name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        for width, height in ((1280, 900), (375, 800)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(400)  # let pages redraw for the new width (charts resize)
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

    return take
