"""Backlog.md task files (`backlog/tasks/task-12 - Title.md`): YAML front matter and Markdown sections."""

import re
from typing import Any

from gateway.app.interchange.common import (
    Imported,
    Item,
    Milestone,
    SourceFile,
    build,
    guess_discipline,
    malformed,
    slug,
)
from gateway.app.task_states import DONE, PENDING

PRIORITIES = {"low": 2, "medium": 3, "high": 4}
USED = {
    "id",
    "title",
    "status",
    "priority",
    "dependencies",
    "labels",
    "milestone",
    "parent_task_id",
    "parent",
    "ordinal",
    "created_date",
    "updated_date",
}
_SECTION = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
_MARKER = re.compile(r"^\s*<!--.*?-->\s*$", re.MULTILINE)
_CHECK = re.compile(r"^\s*[-*]\s+\[([ xX])\]\s+(?:#\d+\s+)?(.+?)\s*$")


def parse(files: list[SourceFile], **_: Any) -> Imported:
    """Read Backlog.md task files (one or many)."""
    unmapped: list[str] = []
    items: list[Item] = []
    milestones: dict[str, Milestone] = {}
    ignored: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    order: list[tuple[float, tuple[float, ...], Item]] = []
    for source in files:
        meta, body = _front_matter(source)
        task_id = meta.get("id")
        if not isinstance(task_id, str | int) or not str(task_id).strip():
            raise malformed(source.name, "front matter: id", "every task file needs an id (e.g. task-12)")
        task_id = str(task_id).strip().lower()
        if task_id in seen:
            raise malformed(source.name, "front matter: id", f"id {task_id} is also used by {seen[task_id]}")
        seen[task_id] = source.name
        title = meta.get("title")
        if not isinstance(title, str) or not title.strip():
            raise malformed(source.name, "front matter: title", "every task needs a title")
        for key in meta:
            if key not in USED:
                ignored[key] = ignored.get(key, 0) + 1
        sections = _sections(body)
        criteria: list[str] = []
        done_criteria = 0
        for heading, text in sections.items():
            if heading.lower().startswith(("acceptance criteria", "definition of done")):
                for line in text.splitlines():
                    match = _CHECK.match(line)
                    if match:
                        criteria.append(match.group(2))
                        done_criteria += match.group(1) != " "
        description = sections.get("Description", "").strip()
        extra = [
            f"{heading}:\n{text.strip()}"
            for heading, text in sections.items()
            if heading != "Description"
            and not heading.lower().startswith(("acceptance criteria", "definition of done"))
            and text.strip()
        ]
        labels = [str(label) for label in meta.get("labels") or []] if isinstance(meta.get("labels"), list) else []
        item = Item(
            key=task_id,
            title=title,
            where=f"{task_id} ({source.name})",
            description="\n\n".join(part for part in (description, *extra) if part),
            criteria=criteria,
            discipline=guess_discipline(" ".join(labels), title) if labels else None,
        )
        priority = meta.get("priority")
        if priority is not None:
            if str(priority).lower() not in PRIORITIES:
                raise malformed(
                    source.name, "front matter: priority", f"unknown priority {priority!r} (low, medium, high)"
                )
            item.priority = PRIORITIES[str(priority).lower()]
        status = str(meta.get("status") or "To Do").strip()
        if status.lower() == "done":
            item.status = DONE
        elif status.lower() not in {"to do", "todo"}:
            item.status, item.status_note = PENDING, f"status {status!r}"
        deps = meta.get("dependencies") or []
        if not isinstance(deps, list):
            raise malformed(source.name, "front matter: dependencies", "expected a list of task ids")
        item.dependencies = [str(dep).strip().lower() for dep in deps]
        parent = meta.get("parent_task_id") or meta.get("parent")
        if parent:
            children.setdefault(str(parent).strip().lower(), []).append(task_id)
        milestone = meta.get("milestone")
        if milestone:
            key = slug(str(milestone))
            milestones.setdefault(key, Milestone(key=key, title=str(milestone)))
            item.milestone = key
        ordinal = meta.get("ordinal")
        order.append((ordinal if isinstance(ordinal, int | float) else float("inf"), _number(task_id), item))
    for entry in sorted(order, key=lambda entry: (entry[0], entry[1])):
        item = entry[2]
        item.dependencies += [child for child in children.get(item.key, []) if child not in item.dependencies]
        items.append(item)
    for key, count in sorted(ignored.items()):
        unmapped.append(
            f"front-matter field {key!r} ({count} task{'s' if count > 1 else ''}) has no place in a gateway plan"
        )
    return build(
        tool="backlog",
        label=f"Backlog.md ({len(files)} task file{'s' if len(files) != 1 else ''})",
        items=items,
        milestones=list(milestones.values()),
        unmapped=unmapped,
        notes=[],
        source=files[0].name if files else "backlog",
    )


def _number(task_id: str) -> tuple[float, ...]:
    digits = re.findall(r"\d+", task_id)
    return tuple(float(d) for d in digits) or (float("inf"),)


def _front_matter(source: SourceFile) -> tuple[dict[str, Any], str]:
    import yaml

    text = source.content.lstrip("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        raise malformed(source.name, "line 1", "a Backlog.md task file starts with '---' (its front matter)")
    end = text.find("\n---", 4)
    if end == -1:
        raise malformed(source.name, "front matter", "the front matter never ends (no closing '---')")
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 2}" if mark is not None else "front matter"
        problem = getattr(exc, "problem", None) or str(exc)
        raise malformed(source.name, where, f"invalid YAML: {problem}") from None
    if not isinstance(meta, dict):
        raise malformed(source.name, "front matter", "expected key: value pairs")
    return meta, text[end + 4 :]


def _sections(body: str) -> dict[str, str]:
    body = _MARKER.sub("", body)
    parts = _SECTION.split(body)
    sections = {}
    for heading, text in zip(parts[1::2], parts[2::2], strict=False):
        sections[heading.strip()] = text.strip()
    return sections
