"""JSON document helpers: RFC 7386 merge patches, RFC 6902 JSON Patch, RFC 6901 pointers, a readable diff,
nesting depth."""

import copy
import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict

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


def unreadable(value: Any) -> tuple[str, str] | None:
    """What in a parsed JSON value could not be stored and read back as JSON, as (JSON Pointer, reason), or None.

    Python's JSON parser lets two things through that JSON itself has no room for: a lone UTF-16 surrogate escape
    (`"\\ud800"`: no UTF-8 encodes it, so writing it fails) and a number past a double's range or a NaN
    (`1e999`, `NaN`, `Infinity`: stored as a non-JSON token, read back as null). Iterative, any depth.
    """
    pending: list[tuple[Any, list[str | int]]] = [(value, [])]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return pointer(path), "a lone UTF-16 surrogate (\\ud800-\\udfff) that no UTF-8 text can hold"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return pointer(path), "a number outside a double's range (or NaN/Infinity), which JSON cannot carry"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _has_surrogate(key):
                    return pointer(path), "a key with a lone UTF-16 surrogate (\\ud800-\\udfff)"
                pending.append((child, [*path, key]))
        elif isinstance(item, list):
            pending.extend((child, [*path, index]) for index, child in enumerate(item))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


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


class PatchError(ValueError):
    """A JSON Patch operation that cannot apply: `index` is the operation's position, `field` the faulty member."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(message)
        self.index, self.field, self.message = index, field, message


def parse_pointer(text: str) -> list[str]:
    """The reference tokens of an RFC 6901 JSON Pointer ('' is the whole document)."""
    if text == "":
        return []
    if not text.startswith("/"):
        raise ValueError("a JSON Pointer is empty or starts with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _parent(doc: Any, tokens: list[str]) -> tuple[Any, str]:
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token)
    return node, tokens[-1]


def _child(node: Any, token: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    raise KeyError(token)


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise KeyError(last)
    else:
        raise KeyError(last)
    return doc


def _remove(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise KeyError("")
    parent, last = _parent(doc, tokens)
    removed = _child(parent, last)
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[int(last)]
    return doc, removed


def apply_json_patch(document: Any, operations: list[Any]) -> Any:
    """Apply a JSON Patch (RFC 6902) to a copy of the document: all operations, or none (PatchError)."""
    doc = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
            raise PatchError(index, "op", "each operation is an object with an 'op'")
        try:
            tokens = parse_pointer(operation["path"])
        except (KeyError, TypeError, AttributeError, ValueError):
            raise PatchError(index, "path", "'path' must be a JSON Pointer such as /decisions/-") from None
        op = operation["op"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(index, "value", f"'{op}' needs a 'value'")
        try:
            doc = _apply(doc, index, operation, tokens)
        except (KeyError, IndexError, ValueError) as exc:
            if isinstance(exc, PatchError):
                raise
            raise PatchError(index, "path", f"nothing at {operation['path']!r} to {op}") from None
    return doc


def _apply(doc: Any, index: int, operation: dict[str, Any], tokens: list[str]) -> Any:
    op = operation["op"]
    if op == "add":
        return _add(doc, tokens, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(doc, tokens)[0]
    if op == "replace":
        doc, _ = _remove(doc, tokens)
        return _add(doc, tokens, copy.deepcopy(operation["value"]))
    if op == "test":
        if _resolve(doc, tokens) != operation["value"]:
            raise PatchError(index, "value", f"the value at {operation['path']} is not the one tested")
        return doc
    if op in ("move", "copy"):
        source = parse_pointer(operation.get("from", ""))
        if op == "copy":
            return _add(doc, tokens, copy.deepcopy(_resolve(doc, source)))
        if tokens[: len(source)] == source and len(tokens) > len(source):
            raise PatchError(index, "path", "a value cannot move into itself")
        doc, value = _remove(doc, source)
        return _add(doc, tokens, value)
    raise PatchError(index, "op", f"unknown op {op!r} (add, remove, replace, move, copy or test)")


def _resolve(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens:
        node = _child(node, token)
    return node


def is_append(operation: Any) -> bool:
    """Whether a JSON Patch operation only adds an item at the end of an array (`add …/-`): it loses nothing."""
    return (
        isinstance(operation, dict) and operation.get("op") == "add" and str(operation.get("path", "")).endswith("/-")
    )


def _integral(value: Any) -> Any:
    """`3.0` is the JSON integer 3 (JSON Schema counts numbers without a fraction as integers)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


# Numbers and booleans in a JSON body are taken as sent (issue 11: `"3"` was coerced to 3), the way the documented
# JSON Schema reads them: an integer is a number without a fraction, a number is no string, a boolean is a boolean.
# Enums and timestamps arrive as strings, so the models themselves stay lax. JSON_INTEGER goes last, after any
# bound (`Annotated[int, Strict(), Field(ge=1), JSON_INTEGER]`): bounds before it stay in the documented schema.
JSON_INTEGER = BeforeValidator(_integral)

# The largest integer the API takes (ids, versions, sizes, positions, cursors): what every integer column stores on
# both databases (PostgreSQL's INTEGER is 32-bit: a larger id was a 500 there, issue 11), and exact for every JSON
# reader (bounds near 2^63 are read as doubles by validators, which then let 2^63-1+1 through).
API_INT_MAX = 2**31 - 1
JsonInt = Annotated[int, Strict(), JSON_INTEGER]
JsonFloat = Annotated[float, Strict()]
JsonBool = Annotated[bool, Strict()]
