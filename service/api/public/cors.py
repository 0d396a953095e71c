"""CORS for the public endpoints: only the configured origins, never for the admin API."""

from __future__ import annotations

from service.settings import Settings


class CorsPolicy:
    def __init__(self, settings: Settings) -> None:
        self._allowed = frozenset(settings.allowed_origins)
        self._any = "*" in self._allowed

    def headers(self, origin: str | None, preflight: bool) -> list[tuple[str, str]]:
        """Headers for a response to a request from `origin` (Vary is always included, so
        caches never serve one origin's answer to another)."""
        headers = [("Vary", "Origin")]
        if origin and (self._any or origin.rstrip("/") in self._allowed):
            headers.append(("Access-Control-Allow-Origin", "*" if self._any else origin))
            headers.append(("Access-Control-Max-Age", "86400"))
            if preflight:
                headers.append(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
                headers.append(("Access-Control-Allow-Headers", "Content-Type"))
        return headers
