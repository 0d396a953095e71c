"""gunicorn with no REDIS_URL (the zero-setup default): the master starts the embedded Redis
and every forked worker joins it; a worker must not shut the master's server down. /metrics
adds up every worker's samples, recycled workers' included (multiprocess mode). When the
master stops, so does the server, and their temporary folders go."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.integration.test_no_leftover_redis import redis_servers_under
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_workers_join_the_masters_embedded_redis(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    temp = tmp_path / "t"  # the embedded server's and the metrics' folders (short: a socket)
    temp.mkdir()
    env.update(VAR_DIR=str(tmp_path), PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="WARNING")
    env["TMPDIR"] = str(temp)
    # Recycling a worker after a few requests forks a fresh one while the server must live on.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "--max-requests",
            "3",
            "--max-requests-jitter",
            "0",
            "--access-logfile",
            "/dev/null",
            "service:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/decision?visitor=embedded-check&placement=article-end"
        answers = []
        deadline = time.monotonic() + 90  # a bound for a busy machine, not a wait
        while len(answers) < 12 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    url, timeout=20
                ) as response:  # a retry would count twice
                    answers.append(response.read())
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
                time.sleep(0.2)
        # "no_experiment", not "unavailable": Redis answered every time, across worker restarts.
        assert len(answers) == 12
        assert all(b'"reason":"no_experiment"' in a for a in answers), answers
        metrics = ""
        while not metrics and time.monotonic() < deadline:
            try:  # a worker may be recycling right now
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    metrics = r.read().decode()
            except OSError:
                time.sleep(0.2)
        count = 'smallfavor_http_request_duration_seconds_count{method="GET",route="/v1/decision"}'
        assert f"{count} 12.0" in metrics, [m for m in metrics.splitlines() if "count{" in m]
        assert len(redis_servers_under(tmp_path)) == 1
        process.terminate()
        assert process.wait(timeout=60) == 0
        # The master waits for the server to stop before it exits: nothing to wait for here.
        assert redis_servers_under(tmp_path) == []
        assert list(temp.iterdir()) == []
        assert list(tmp_path.glob("smallfavor-redis-*")) == []  # the socket folder in VAR_DIR
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for server in redis_servers_under(tmp_path):
            server.kill()
