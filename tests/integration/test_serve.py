"""`smallfavor serve` (what `make run` ends with): web, flusher and scheduler start together,
and stopping serve stops them all, whether by Ctrl-C or by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_serve_stops_every_process(tmp_path: Path, signum: int) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(VAR_DIR=str(tmp_path), PORT=str(port), WEB_CONCURRENCY="1", LOG_LEVEL="WARNING")
    subprocess.run(
        [sys.executable, "-m", "service.cli", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", serve)
        children = psutil.Process(serve.pid).children(recursive=True)
        commands = " ".join(" ".join(c.cmdline()) for c in children)
        assert "gunicorn" in commands and " flush" in commands and " schedule" in commands
        serve.send_signal(signum)
        serve.wait(timeout=40)
        _, alive = psutil.wait_procs(children, timeout=20)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        if serve.poll() is None:
            serve.kill()
