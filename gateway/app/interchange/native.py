"""The gateway's own draft format (what `export --format json` writes): a PlanDraft as JSON, imported as is."""

import json
from typing import Any

from pydantic import ValidationError

from gateway.app.interchange.common import Imported, SourceFile, malformed
from gateway.app.planner.models import PlanDraft


def parse(files: list[SourceFile], **_: Any) -> Imported:
    """Read one exported plan (JSON): every field kept, so export → import → export gives the same file."""
    if len(files) != 1:
        raise malformed("gateway", "files", "give exactly one plan JSON file")
    source = files[0]
    try:
        data = json.loads(source.content)
    except json.JSONDecodeError as exc:
        raise malformed(source.name, f"line {exc.lineno}, column {exc.colno}", exc.msg) from None
    if isinstance(data, dict) and data.get("format") == "gateway-plan":
        data = data.get("plan")
    try:
        draft = PlanDraft.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise malformed(source.name, where, first["msg"]) from None
    return Imported(tool="gateway", draft=draft, progress={}, unmapped=[], milestones=[])


def dump(draft: PlanDraft) -> str:
    """A draft as the JSON this format reads back."""
    return json.dumps(draft.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
