"""JSON document helpers: RFC 7386 merge patches, RFC 6901 pointers, and a readable structural diff."""

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON Merge Patch (RFC 7386): objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def pointer(parts: list[str | int]) -> str:
    """The RFC 6901 JSON Pointer of a path."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def diff(old: Any, new: Any, path: list[str | int] | None = None) -> list[dict[str, Any]]:
    """Every added, removed and changed value from `old` to `new`, at its JSON Pointer.

    Objects are compared key by key and lists item by item (an appended log entry shows as one addition);
    a value whose type changed is reported as changed as a whole.
    """
    path = path or []
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[dict[str, Any]] = []
        for key in old.keys() | new.keys():
            here = [*path, key]
            if key not in new:
                changes.append({"op": "removed", "path": pointer(here), "old": old[key], "new": None})
            elif key not in old:
                changes.append({"op": "added", "path": pointer(here), "old": None, "new": new[key]})
            else:
                changes.extend(diff(old[key], new[key], here))
        return sorted(changes, key=lambda change: _sort_key(change["path"]))
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            here = [*path, index]
            if index >= len(new):
                changes.append({"op": "removed", "path": pointer(here), "old": old[index], "new": None})
            elif index >= len(old):
                changes.append({"op": "added", "path": pointer(here), "old": None, "new": new[index]})
            else:
                changes.extend(diff(old[index], new[index], here))
        return changes
    if old == new and type(old) is type(new):
        return []
    return [{"op": "changed", "path": pointer(path), "old": old, "new": new}]


def _sort_key(path: str) -> list[tuple[int, Any]]:
    # Numeric segments sort as numbers, so /decisions/10 comes after /decisions/9.
    return [(0, int(part)) if part.isdigit() else (1, part) for part in path.split("/")]


def describe(changes: list[dict[str, Any]], *, limit: int = 4) -> str:
    """A one-line description of a diff: 'changed /game/title, added /glossary/jump (+3 more)'."""
    if not changes:
        return "no change"
    shown = ", ".join(f"{change['op']} {change['path']}" for change in changes[:limit])
    more = len(changes) - limit
    return shown + (f" (+{more} more)" if more > 0 else "")
