"""The zero-setup Redis keeps everything under VAR_DIR, as the README says: its database and,
while it runs, the folder with its socket; the folder goes when the server stops."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.store.redis.embedded import FOLDER_PREFIX
from tests.integration.test_no_leftover_redis import redis_servers_under

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from pathlib import Path
from service.settings import Settings
from service.store.redis.client import connect
from service.store.redis.embedded import embedded_socket, stop_started_servers

settings = Settings.from_env({"VAR_DIR": sys.argv[1], "REDIS_TIMEOUT_MS": "2000"})
connect(settings).set("sf:probe", "1")
socket = Path(embedded_socket(settings.var_dir))
print(socket, socket.exists(), sorted(p.name for p in socket.parent.iterdir()))
stop_started_servers()  # as `smallfavor serve` does when it ends
"""


@pytest.fixture
def short_var_dir() -> Iterator[Path]:
    """Short whatever the user's pytest folder is called, so the socket fits under it."""
    folder = Path(tempfile.mkdtemp(prefix="sf-", dir="/tmp"))
    yield folder / "var"
    shutil.rmtree(folder, ignore_errors=True)


def test_the_embedded_socket_is_under_var_dir_and_goes_with_the_server(
    short_var_dir: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(short_var_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    socket, exists, beside = child.stdout.strip().split(" ", 2)
    assert Path(socket).parent.parent == short_var_dir.resolve()
    assert Path(socket).parent.name.startswith(FOLDER_PREFIX)
    assert exists == "True" and "redis.pid" in beside
    # The server stopped with the process that started it and its folder went; the data
    # stays for the next run.
    try:
        assert redis_servers_under(short_var_dir.parent) == []
        left = {p.name for p in short_var_dir.iterdir()}
        assert "redis.db" in left and not any(n.startswith(FOLDER_PREFIX) for n in left), left
    finally:
        for process in redis_servers_under(short_var_dir.parent):
            process.kill()
