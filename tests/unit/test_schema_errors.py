"""pydantic's errors in our envelope: paths in our style, our wording kept."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from service.schemas.errors import error_fields, path_of, rule


class _Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    weight: float

    @field_validator("key")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not value.islower():
            raise rule('must be a slug, such as "control"')
        return value


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variants: list[_Variant]


@pytest.mark.parametrize(
    "loc,path",
    [((), "$"), (("key",), "key"), (("variants", 1, "weight"), "variants[1].weight")],
)
def test_locations_become_our_paths(loc: tuple[int | str, ...], path: str) -> None:
    assert path_of(loc) == path


def test_a_union_tag_is_not_a_field() -> None:
    assert path_of(("conversion", "amount"), drop={"conversion"}) == "amount"


def test_every_broken_field_is_named_in_our_words() -> None:
    raw = {"variants": [{"key": "a", "weight": 1}, {"key": "B", "weight": "x", "x": 1}, {}]}
    with pytest.raises(ValidationError) as failure:
        _Doc.model_validate(raw)
    fields = error_fields(failure.value, {"variants[1].weight": "must be a number"})
    assert fields == {
        "variants[1].key": 'must be a slug, such as "control"',
        "variants[1].weight": "must be a number",
        "variants[1].x": "unknown field",
        "variants[2].key": "required",
        "variants[2].weight": "required",
    }


def test_the_whole_body_is_dollar() -> None:
    with pytest.raises(ValidationError) as failure:
        _Doc.model_validate([])
    assert error_fields(failure.value) == {"$": "must be an object"}
