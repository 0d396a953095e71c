"""What `smallfavor serve` runs (the local `make run`): gunicorn, the flusher and the export
scheduler, sharing one metrics directory and, without REDIS_URL, one embedded Redis. Whatever
serve creates for them it removes again when it ends, SIGTERM included."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from service.settings import Settings
from service.store.redis.embedded import embedded_socket, stop_started_servers
from service.supervisor import Child


@contextmanager
def shared_environment(settings: Settings, environ: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """The children's environment. On exit: the embedded Redis this process started stops
    (after the children, which the caller has stopped by then) and the metrics directory
    made here goes."""
    env = dict(environ)
    made: list[str] = []
    try:
        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            # One directory for web workers, flusher and scheduler: /metrics shows them all.
            made.append(tempfile.mkdtemp(prefix="smallfavor-metrics-"))
            env["PROMETHEUS_MULTIPROC_DIR"] = made[-1]
        if settings.redis_url is None:
            # Started here, so the server outlives restarts of the children; every child
            # joins it through REDIS_URL.
            env["REDIS_URL"] = f"unix://{embedded_socket(settings.var_dir)}"
        yield env
    finally:
        stop_started_servers()
        for path in made:
            shutil.rmtree(path, ignore_errors=True)


def spawners(env: Mapping[str, str], gunicorn_config: Path) -> dict[str, Callable[[], Child]]:
    python = sys.executable
    commands = {
        "web": [python, "-m", "gunicorn", "-c", str(gunicorn_config), "service:create_app()"],
        "flusher": [python, "-m", "service.cli", "flush"],
        "scheduler": [python, "-m", "service.cli", "schedule"],
    }
    return {name: partial(subprocess.Popen, argv, env=env) for name, argv in commands.items()}
