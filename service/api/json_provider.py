"""Flask JSON through orjson: several times faster than the standard library at encoding the
decision's banner, the largest thing the hot path writes."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from flask import Response
from flask.json.provider import JSONProvider

# Keys that are str subclasses (StrEnum members, SQLAlchemy names) are written as text.
_OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonProvider(JSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=_default, option=_OPTIONS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=_default, option=_OPTIONS)
        return Response(body, mimetype="application/json")


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
