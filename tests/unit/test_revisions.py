"""diff_documents: what a revision shows as changed."""

from __future__ import annotations

import copy
from typing import Any

from service.domain.revisions import diff_documents
from service.schemas.experiment import parse_experiment
from tests.support import banner, experiment_doc


def document(**overrides: Any) -> dict[str, Any]:
    return parse_experiment(experiment_doc(**overrides)).to_document()


def variant(key: str, weight: float = 50.0) -> dict[str, Any]:
    return {"key": key, "weight": weight}


def test_a_first_revision_is_one_addition() -> None:
    new = document()
    assert diff_documents(None, new) == [{"path": "$", "op": "added", "old": None, "new": new}]


def test_an_unchanged_document_has_no_changes() -> None:
    assert diff_documents(document(), document()) == []


def test_changes_come_in_document_order_with_validation_paths() -> None:
    old = document()
    new = copy.deepcopy(old)
    new["variants"][1]["weight"] = 80.0
    new["variants"][0]["banner"]["heading"] = "A new heading"
    new["analysis"]["alpha"] = 0.01
    new["name"] = "Renamed"
    new["targeting"]["countries"].append("FR")

    assert diff_documents(old, new) == [
        {"path": "name", "op": "changed", "old": "Monthly ask: $2 vs $5", "new": "Renamed"},
        {"path": "targeting.countries[2]", "op": "added", "old": None, "new": "FR"},
        {"path": "analysis.alpha", "op": "changed", "old": 0.05, "new": 0.01},
        {
            "path": "variants[0].banner.heading",
            "op": "changed",
            "old": "…we have a small favor to ask",
            "new": "A new heading",
        },
        {"path": "variants[1].weight", "op": "changed", "old": 50.0, "new": 80.0},
    ]


def test_a_variant_inserted_in_the_middle_is_one_addition() -> None:
    old = document()
    new = copy.deepcopy(old)
    inserted = {"key": "ten-dollars", "weight": 10.0, "banner": banner(monthly=[10])}
    new["variants"].insert(1, inserted)
    new["variants"][2]["weight"] = 40.0

    assert diff_documents(old, new) == [
        {"path": "variants[1]", "op": "added", "old": None, "new": inserted},
        {"path": "variants[2].weight", "op": "changed", "old": 50.0, "new": 40.0},
    ]


def test_a_removed_variant_uses_its_old_index() -> None:
    old = {"variants": [variant("a"), variant("b"), variant("c", 10)]}
    new = {"variants": [variant("a"), variant("c", 20)]}
    assert diff_documents(old, new) == [
        {"path": "variants[1]", "op": "removed", "old": variant("b"), "new": None},
        {"path": "variants[1].weight", "op": "changed", "old": 10, "new": 20},
    ]


def test_a_replaced_variant_shows_the_removal_first() -> None:
    old = {"variants": [variant("a"), variant("b")]}
    new = {"variants": [variant("a"), variant("z")]}
    assert diff_documents(old, new) == [
        {"path": "variants[1]", "op": "removed", "old": variant("b"), "new": None},
        {"path": "variants[1]", "op": "added", "old": None, "new": variant("z")},
    ]


def test_reordering_variants_changes_the_control() -> None:
    old = {"variants": [variant("a"), variant("b")]}
    new = {"variants": [variant("b"), variant("a")]}
    assert diff_documents(old, new) == [
        {"path": "variants", "op": "changed", "old": ["a", "b"], "new": ["b", "a"]}
    ]


def test_plain_lists_are_compared_by_index() -> None:
    old = {"countries": ["US", "GB", "DE"]}
    new = {"countries": ["US", "FR"]}
    assert diff_documents(old, new) == [
        {"path": "countries[1]", "op": "changed", "old": "GB", "new": "FR"},
        {"path": "countries[2]", "op": "removed", "old": "DE", "new": None},
    ]


def test_fields_added_and_removed() -> None:
    old = {"caps": {"per_days": 30, "legacy": True}}
    new = {"caps": {"per_days": 30, "max_impressions": 4}}
    assert diff_documents(old, new) == [
        {"path": "caps.max_impressions", "op": "added", "old": None, "new": 4},
        {"path": "caps.legacy", "op": "removed", "old": True, "new": None},
    ]


def test_a_flag_that_became_a_number_is_a_change() -> None:
    assert diff_documents({"x": True}, {"x": 1}) == [
        {"path": "x", "op": "changed", "old": True, "new": 1}
    ]
    assert diff_documents({"x": 1}, {"x": 1.0}) == []


def test_a_value_that_changed_shape_is_one_change() -> None:
    assert diff_documents({"amounts": {"monthly": [2]}}, {"amounts": None}) == [
        {"path": "amounts", "op": "changed", "old": {"monthly": [2]}, "new": None}
    ]
