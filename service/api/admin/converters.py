"""URL converters shared by the API and the dashboard."""

from __future__ import annotations

from werkzeug.routing import BaseConverter

from service.schemas.experiment_fields import KEY_PATTERN

# SQL INTEGER primary keys (int4 on PostgreSQL).
MAX_SQL_ID = 2**31 - 1


class SqlIdConverter(BaseConverter):
    """A row id from the path. Values no INTEGER column can hold become 0, an id no row has,
    so the view answers its own 404 instead of the driver overflowing into a 500. (Refusing
    them in the converter would not do: werkzeug then answers 405 for some methods.)"""

    regex = r"[0-9]{1,19}"  # not \d, which matches other scripts' digits too
    part_isolating = True
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_SQL_ID}  # for the OpenAPI document

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if 1 <= number <= MAX_SQL_ID else 0

    def to_url(self, value: int) -> str:
        return str(int(value))


class ExperimentKeyConverter(BaseConverter):
    """Only what could be an experiment key reaches a view: anything else (a NUL byte, which
    PostgreSQL refuses in a string, or 500 characters) matches no route and is a 404."""

    regex = KEY_PATTERN
    part_isolating = True
    schema = {"type": "string", "pattern": f"^{KEY_PATTERN}$"}
