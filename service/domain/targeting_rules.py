"""Targeting's page rules as objects: each has the name `debug=1` reports when it fails and a
`passes(page)` test.

An experiment's rules are built once, when its Targeting is constructed (the experiment is
loaded), and only for the fields it sets: the decision path loops over those few objects and
reads nothing else. They are checked in PAGE_RULES order; the first that fails is named.

A rule on an existing page signal is a class here, its entry in PAGE_RULES, and the field of
the same name on Targeting (service/domain/experiment.py) and in the experiment document. A
field left at its default (empty, 0) places no restriction and builds no rule.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol


class PageSignals(Protocol):
    """What a rule may read of a page view (service/domain/page_context.py's PageContext)."""

    @property
    def device(self) -> str: ...
    @property
    def country(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def section(self) -> str | None: ...
    @property
    def tags(self) -> frozenset[str]: ...
    @property
    def article_views(self) -> int: ...


class PageRule(Protocol):
    @property
    def name(self) -> str: ...

    def passes(self, page: PageSignals) -> bool: ...


class RuleKind(Protocol):
    """A rule class: named after its Targeting field, built from that field's value."""

    @property
    def name(self) -> str: ...

    def __call__(self, value: Any, /) -> PageRule: ...


class _ValueSet:
    """A rule on a set of values: its field's, fixed when the experiment is loaded."""

    __slots__ = ("values",)

    def __init__(self, values: Collection[str]) -> None:
        self.values = frozenset(values)


class Countries(_ValueSet):
    name = "countries"
    __slots__ = ()

    def passes(self, page: PageSignals) -> bool:
        return page.country in self.values


class Devices:
    name = "devices"
    __slots__ = ("allowed",)

    def __init__(self, devices: Collection[str]) -> None:
        # A tuple: at most three, and an enum member's hash is a Python call, `==` is identity.
        self.allowed = tuple(devices)

    def passes(self, page: PageSignals) -> bool:
        return page.device in self.allowed


class Languages(_ValueSet):
    name = "languages"
    __slots__ = ()

    def passes(self, page: PageSignals) -> bool:
        return page.language in self.values


class Sections(_ValueSet):
    name = "sections"
    __slots__ = ()

    def passes(self, page: PageSignals) -> bool:
        return page.section in self.values


class ExcludeSections(_ValueSet):
    name = "exclude_sections"
    __slots__ = ()

    def passes(self, page: PageSignals) -> bool:
        return page.section not in self.values  # a page without a section is not excluded


class Tags(_ValueSet):
    name = "tags"
    __slots__ = ()

    def passes(self, page: PageSignals) -> bool:
        return not self.values.isdisjoint(page.tags)  # any one of them


class MinArticleViews:
    name = "min_article_views"
    __slots__ = ("minimum",)

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def passes(self, page: PageSignals) -> bool:
        return page.article_views >= self.minimum


# The order in which rules are checked, and so which one debug=1 names when several fail.
PAGE_RULES: tuple[RuleKind, ...] = (
    Countries,
    Devices,
    Languages,
    Sections,
    ExcludeSections,
    Tags,
    MinArticleViews,
)


def page_rules(targeting: object) -> tuple[PageRule, ...]:
    """The rules of the fields `targeting` sets, in PAGE_RULES order."""
    return tuple(kind(value) for kind in PAGE_RULES if (value := getattr(targeting, kind.name)))
