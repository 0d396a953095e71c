"""gunicorn's own log lines as JSON, one object a line, like the app's (service/log_format.py).

deploy/gunicorn.conf.py names JsonLogger as its `logger_class`. The access log keeps its
format string (`access_log_format`, a JSON template), but gunicorn only escapes the double
quotes in the values it fills in, so a backslash, a `%0A` in the path (PATH_INFO is decoded) or
an ESC in the User-Agent would break the line or forge another. Here every string value is
escaped for the inside of a JSON string before the template is filled. The error log (worker
starts, timeouts, crashes) goes through the app's JSON formatter.
"""

from __future__ import annotations

from typing import Any

# gunicorn ships no type hints (and typeshed's stubs are not a dependency here).
from gunicorn.glogging import Logger, SafeAtoms  # type: ignore[import-untyped]

from service.log_format import JsonFormatter, json_string_content


class JsonSafeAtoms(SafeAtoms):  # type: ignore[misc]
    """gunicorn's atoms (method, path, headers, environ…) with every string made safe to
    place between double quotes in a JSON template. Lookups keep SafeAtoms' rules (header
    names case-insensitive, "-" for a missing one)."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(
            self,
            {
                key: json_string_content(value) if isinstance(value, str) else value
                for key, value in atoms.items()
            },
        )


class JsonLogger(Logger):  # type: ignore[misc]
    atoms_wrapper_class = JsonSafeAtoms

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
