"""The snippet article pages load: /snippet.js (short cache) and /snippet.<hash>.js (immutable).

The file is read, minified, hashed and gzipped once per process; a request only picks the
encoding. snippet.js keeps its comments and layout for the people who change it; readers get it
minified (rjsmin: comments and spacing out, names kept), which is what its budget of 6 KB
gzipped is measured on (tests/functional/test_snippet_and_demo.py).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

import rjsmin
from flask import Blueprint, Response, abort, request

# What a page's source view shows first, so nobody wonders what the file is.
_HEADER = b"/* Small Favor snippet, minified from service/snippet/snippet.js */\n"


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
        source = resources.files("service.snippet").joinpath("snippet.js").read_text("utf-8")
        body = _HEADER + rjsmin.jsmin(source).encode("utf-8")
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
