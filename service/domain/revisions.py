"""A readable structural diff of two experiment documents, for the revision history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Change = dict[str, Any]


def diff_documents(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """Every change from `old` to `new` in document order, each with its field path in the
    notation validation errors use (`variants[1].weight`).

    Lists of objects that each carry a unique "key" (variants) are matched by key, so inserting
    a variant shows as one addition rather than a change to every variant after it; their paths
    use the new index, or the old one for a removal. Reordering such a list, which changes the
    control, is one change at the list's path whose old and new values are the key orders.
    """
    if old is None:
        return [_change("$", "added", None, new)]
    changes: list[Change] = []
    _diff("", old, new, changes)
    return changes


def _diff(path: str, old: Any, new: Any, changes: list[Change]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        _diff_objects(path, old, new, changes)
    elif isinstance(old, list | tuple) and isinstance(new, list | tuple):
        old_keys: Sequence[object] | None = _keys(old)
        new_keys: Sequence[object] | None = _keys(new)
        if old_keys is None or new_keys is None:  # not both keyed: items match by index
            old_keys, new_keys = range(len(old)), range(len(new))
        _diff_list(path, old, new, old_keys, new_keys, changes)
    elif not _same(old, new):
        changes.append(_change(path or "$", "changed", old, new))


def _diff_objects(
    path: str, old: Mapping[str, Any], new: Mapping[str, Any], changes: list[Change]
) -> None:
    for name in [*new, *(name for name in old if name not in new)]:
        child = f"{path}.{name}" if path else str(name)
        if name not in old:
            changes.append(_change(child, "added", None, new[name]))
        elif name not in new:
            changes.append(_change(child, "removed", old[name], None))
        else:
            _diff(child, old[name], new[name], changes)


def _diff_list(
    path: str,
    old: Sequence[Any],
    new: Sequence[Any],
    old_keys: Sequence[object],
    new_keys: Sequence[object],
    changes: list[Change],
) -> None:
    if [k for k in old_keys if k in new_keys] != [k for k in new_keys if k in old_keys]:
        changes.append(_change(path or "$", "changed", old_keys, new_keys))
    for i in range(max(len(old_keys), len(new_keys))):
        # A removal comes before whatever now sits at its index, as in a line diff.
        if i < len(old_keys) and old_keys[i] not in new_keys:
            changes.append(_change(f"{path}[{i}]", "removed", old[i], None))
        if i >= len(new_keys):
            continue
        if new_keys[i] in old_keys:
            _diff(f"{path}[{i}]", old[old_keys.index(new_keys[i])], new[i], changes)
        else:
            changes.append(_change(f"{path}[{i}]", "added", None, new[i]))


def _keys(items: Sequence[Any]) -> list[str] | None:
    """The items' keys if every item is an object with a distinct string "key", else None."""
    keys: list[str] = []
    for item in items:
        key = item.get("key") if isinstance(item, Mapping) else None
        if not isinstance(key, str) or key in keys:
            return None
        keys.append(key)
    return keys or None


def _same(old: Any, new: Any) -> bool:
    # True == 1 in Python, but a flag that became a number is a change.
    return bool(old == new and isinstance(old, bool) == isinstance(new, bool))


def _change(path: str, op: str, old: Any, new: Any) -> Change:
    return {"path": path, "op": op, "old": old, "new": new}
