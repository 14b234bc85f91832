"""JSON document helpers: RFC 7386 merge patches, RFC 6901 pointers, a readable structural diff, nesting depth."""

import re
from typing import Any

# Deepest nesting the gateway stores: what it stores it must be able to serialise back (its JSON encoders give up
# at about 255 levels), with room for the envelope a response wraps a document in. The door's limit
# (Settings.max_json_depth) is at most this.
READABLE_DEPTH = 128

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def text_depth(body: bytes, *, stop_after: int | None = None) -> int:
    """How deeply a JSON text nests arrays and objects (0 for a scalar), without parsing it.

    Stops counting once past `stop_after`; malformed JSON gets a number too (the parser refuses it later).
    """
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_after is not None and deepest > stop_after:
                    break
        else:
            depth -= 1
    return deepest


def depth(value: Any) -> int:
    """How deeply a parsed JSON value nests arrays and objects (0 for a scalar); iterative, any depth."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest


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
