"""The snippet article pages load: /snippet.js (short cache) and /snippet.<hash>.js (immutable).

The file is read, hashed and gzipped once per process; a request only picks the encoding.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from flask import Blueprint, Response, abort, request


@dataclass(frozen=True, slots=True)
class SnippetAsset:
    body: bytes
    gzipped: bytes
    version: str

    @property
    def versioned_path(self) -> str:
        return f"/snippet.{self.version}.js"

    @classmethod
    def load(cls) -> SnippetAsset:
        body = resources.files("service.snippet").joinpath("snippet.js").read_bytes()
        return cls(body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:12])


def blueprint(asset: SnippetAsset) -> Blueprint:
    bp = Blueprint("snippet", __name__)

    @bp.get("/snippet.js")
    def current() -> Response:
        # Short: a new release reaches every page within minutes.
        return _serve(asset, "public, max-age=300")

    @bp.get("/snippet.<version>.js")
    def versioned(version: str) -> Response:
        if version != asset.version:
            abort(404)
        return _serve(asset, "public, max-age=31536000, immutable")

    return bp


def _serve(asset: SnippetAsset, cache_control: str) -> Response:
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(asset.gzipped if gzip_ok else asset.body, mimetype="application/javascript")
    if gzip_ok:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["ETag"] = f'"{asset.version}"'
    return response
