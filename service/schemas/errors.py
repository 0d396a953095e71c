"""The error envelope, and pydantic's errors in it: every broken field under our path style
("variants[1].weight", "$" for the whole body), with our wording where the rule has a name."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

# The error type of our validators' PydanticCustomError: its message is shown as it is.
RULE = "rule"

# pydantic's error type -> the wording our clients and tests already know.
_WORDING = {
    "missing": "required",
    "union_tag_not_found": "required",
    "extra_forbidden": "unknown field",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
}


def without_default(schema: dict[str, Any]) -> None:
    """json_schema_extra for a field whose default is not a value to document."""
    schema.pop("default", None)


def absent(description: str | None = None) -> Any:
    """An answer's field that is left out rather than sent as null: documented without null."""
    return Field(default=None, description=description, json_schema_extra=without_default)


_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(examples=["bad_request", "invalid"])
    message: str
    fields: dict[str, str] = absent("Per field (or path) what is wrong with it.")


class Error(BaseModel):
    """The one error envelope every 4xx (and 5xx) answer carries."""

    error: ErrorDetail


def path_of(loc: Sequence[int | str], drop: Collection[str] = ()) -> str:
    """('variants', 1, 'weight') -> "variants[1].weight"; `drop` names loc parts that are not
    fields (the tag of a discriminated union)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in drop:
            path = f"{path}.{part}" if path else part
    return path or "$"


def error_fields(
    exc: ValidationError,
    messages: Mapping[str, str] | None = None,
    drop: Collection[str] = (),
) -> dict[str, str]:
    """Path -> why, the first error per path: a validator's own message (a `rule` error) as it
    is, then our wording for a missing, unknown or mistyped field, then `messages`, a field's
    rule in words for any other failure of it."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        path = path_of(error["loc"], drop)
        kind = error["type"]
        if kind in _TAG_ERRORS:  # the discriminating field (`type`) is missing or unknown
            tag = error["ctx"]["discriminator"].strip("'")
            path = tag if path == "$" else f"{path}.{tag}"
        if path in fields:
            continue
        if kind in (RULE, "value_error"):
            fields[path] = _custom(error["msg"])
        elif kind in _WORDING:
            fields[path] = _WORDING[kind]
        elif messages is not None and path in messages:
            fields[path] = messages[path]
        elif kind == "union_tag_invalid":
            fields[path] = "must be one of: " + error["ctx"]["expected_tags"].replace("'", "")
        elif kind == "too_long":
            fields[path] = f"must be a list of 0 to {error['ctx']['max_length']} items"
        elif kind == "too_short":
            fields[path] = f"must be a list of at least {error['ctx']['min_length']} items"
        else:
            fields[path] = error["msg"]
    return fields


def _custom(message: str) -> str:
    # pydantic prefixes a ValueError raised in a validator with "Value error, ".
    return message.removeprefix("Value error, ")


def rule(message: str) -> PydanticCustomError:
    """A failed rule in our words, raised from a validator."""
    return PydanticCustomError(RULE, message)
