"""The snippet article pages load: /snippet.js (short cache) and /snippet.<hash>.js (immutable).

The file is read, hashed and gzipped once per process; a request only picks the encoding.
Its whole-line `//` comments, which say why for whoever edits it, are left out of what is
served: every reader's page pays for each byte, and the file has no string or regular
expression that spans lines, so a line that starts with `//` is only ever a comment.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from flask import Blueprint, Response, abort, request

_COMMENT_LINE = re.compile(rb"^[ \t]*//[^\n]*\n", re.MULTILINE)


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
        source = resources.files("service.snippet").joinpath("snippet.js").read_bytes()
        body = _COMMENT_LINE.sub(b"", source)
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
