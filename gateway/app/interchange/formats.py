"""The import formats by name, and recognising one from the files."""

import json
from collections.abc import Callable
from typing import Any

from gateway.app.errors import InvalidInput
from gateway.app.interchange import backlog, native, speckit, taskmaster
from gateway.app.interchange.common import Imported, SourceFile

FORMATS: dict[str, Callable[..., Imported]] = {
    "taskmaster": taskmaster.parse,
    "backlog": backlog.parse,
    "speckit": speckit.parse,
    "gateway": native.parse,
}


def detect(files: list[SourceFile]) -> str:
    """Which tool wrote these files."""
    if not files:
        raise InvalidInput("Nothing to import: no files.", errors=[{"loc": ["files"], "msg": "empty", "type": "empty"}])
    first = files[0]
    text = first.content.lstrip("\ufeff")
    if first.name.endswith(".json") or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return "taskmaster" if "task" in first.name.lower() else "gateway"
        if isinstance(data, dict) and ("summary" in data or data.get("format") == "gateway-plan"):
            return "gateway"
        return "taskmaster"
    front_matter = text.split("\n---", 2)[0]
    all_front_matter = all(f.content.lstrip("\ufeff").startswith("---") for f in files)
    if all_front_matter and ("\nid:" in front_matter or len(files) > 1 or "task-" in first.name.lower()):
        return "backlog"
    return "speckit"


def parse(files: list[SourceFile], *, format: str = "auto", options: dict[str, Any] | None = None) -> Imported:
    """Parse files in a named format (or the one `detect` recognises)."""
    chosen = detect(files) if format == "auto" else format
    if chosen not in FORMATS:
        raise InvalidInput(
            f"Unknown import format {format!r}: use one of {', '.join(FORMATS)} or auto.",
            errors=[{"loc": ["format"], "msg": "unknown format", "type": "enum"}],
        )
    return FORMATS[chosen](files, **(options or {}))
