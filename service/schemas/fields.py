"""Field types for documents editors write: each is a check with our wording (the messages
editors and tests know) and the JSON Schema the document shows for it.

Why checks rather than pydantic's own constraints: one field has one rule in words ("must be a
whole number between 0 and 1000") whatever failed, numbers are numbers (true is not 1, "5" is
not 5, NaN is refused), and text is refused with control characters (PostgreSQL takes no NUL).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, PlainValidator, WithJsonSchema

from service.schemas import checks
from service.schemas.errors import rule

T = TypeVar("T")
Json = dict[str, Any]


def _validator(check: Callable[[object], T]) -> Callable[[object], T]:
    def validate(value: object) -> T:
        try:
            return check(value)
        except checks.Invalid as invalid:
            raise rule(str(invalid)) from None

    return validate


def checked(check: Callable[[object], Any], schema: Json, *, nullable: bool = False) -> Any:
    """The metadata of an Annotated field: `check` validates, `schema` documents."""
    if nullable:
        check, schema = checks.or_null(check), {"anyOf": [schema, {"type": "null"}]}
    return PlainValidator(_validator(check)), WithJsonSchema(schema)


def whole(lo: int, hi: int | None = None, *, nullable: bool = False) -> Any:
    schema = {"type": "integer", "minimum": lo, "maximum": checks.MAX_INTEGER if hi is None else hi}
    return checked(checks.integer(lo, hi), schema, nullable=nullable)


def number(
    lo: float,
    hi: float | None = None,
    *,
    above: bool = False,
    below: bool = False,
    nullable: bool = False,
) -> Any:
    schema: Json = {"type": "number", "exclusiveMinimum" if above else "minimum": lo}
    if hi is not None:
        schema["exclusiveMaximum" if below else "maximum"] = hi
    return checked(checks.number(lo, hi, above=above, below=below), schema, nullable=nullable)


def text(max_len: int, *, non_empty: bool = False, nullable: bool = False) -> Any:
    schema: Json = {"type": "string", "maxLength": max_len}
    if non_empty:
        schema["pattern"] = r"\S"
    return checked(checks.text(max_len, non_empty=non_empty), schema, nullable=nullable)


def pattern(regex: str, message: str, normalise: Callable[[str], str] = str) -> Any:
    return checked(
        checks.pattern(regex, message, normalise), {"type": "string", "pattern": f"^{regex}$"}
    )


def choice(kind: type[StrEnum]) -> Any:
    return checked(checks.choice(kind), {"type": "string", "enum": [m.value for m in kind]})


class Document(BaseModel):
    """A closed, frozen part of a document that becomes the domain dataclass `domain_type` of
    the same field names: nested parts become theirs, lists become tuples."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    domain_type: ClassVar[type[Any]]

    def to_domain(self, **given: Any) -> Any:
        """The domain value; `given` replaces what a field would give."""
        values = {name: _domain(getattr(self, name)) for name in type(self).model_fields}
        return self.domain_type(**{**values, **given})


def _domain(value: object) -> object:
    if isinstance(value, Document):
        return value.to_domain()
    if isinstance(value, list):
        return tuple(_domain(item) for item in value)
    return value


Boolean = Annotated[bool, *checked(checks.boolean, {"type": "boolean"})]
HttpUrl = Annotated[
    str, *checked(checks.http_url, {"type": "string", "format": "uri", "maxLength": 2000})
]
Currency = Annotated[str, *checked(checks.CURRENCY, {"type": "string", "pattern": "^[A-Z]{3}$"})]
