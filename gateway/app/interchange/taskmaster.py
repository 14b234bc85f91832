"""Task Master's `.taskmaster/tasks/tasks.json`: tags (each a task list), tasks, subtasks, dependencies.

Tagged files map tag → `{"tasks": [...], "metadata": {...}}`; older files are `{"tasks": [...]}` (the
`master` tag). Each tag becomes a milestone; a subtask becomes a task of its own that its parent depends on.
"""

import json
from typing import Any

from gateway.app.interchange.common import Imported, Item, Milestone, SourceFile, build, malformed, points_of, slug
from gateway.app.task_states import BLOCKED, CANCELLED, DONE, PENDING, REVIEW

PRIORITIES = {"low": 2, "medium": 3, "high": 4, "critical": 5}
# Task Master status → (gateway status, whether it is carried as is).
STATUSES = {
    "pending": PENDING,
    "todo": PENDING,
    "done": DONE,
    "completed": DONE,
    "cancelled": CANCELLED,
    "blocked": BLOCKED,
    "review": REVIEW,
}
USED = {
    "id",
    "title",
    "description",
    "details",
    "testStrategy",
    "status",
    "priority",
    "dependencies",
    "subtasks",
    "complexity",
    "acceptanceCriteria",
    "parentId",
    "createdAt",
    "updatedAt",
}


def parse(files: list[SourceFile], *, tag: str | None = None) -> Imported:
    """Read a tasks.json (one file)."""
    if len(files) != 1:
        raise malformed("taskmaster", "files", "give exactly one tasks.json")
    source = files[0]
    try:
        data = json.loads(source.content)
    except json.JSONDecodeError as exc:
        raise malformed(source.name, f"line {exc.lineno}, column {exc.colno}", exc.msg) from None
    if not isinstance(data, dict):
        raise malformed(source.name, "top level", 'expected an object of tags (or {"tasks": [...]})')
    tags: dict[str, Any] = {"master": data} if isinstance(data.get("tasks"), list) else data
    if tag is not None:
        if tag not in tags:
            raise malformed(source.name, tag, f"no such tag (the file has: {', '.join(tags) or 'none'})")
        tags = {tag: tags[tag]}
    unmapped: list[str] = []
    items: list[Item] = []
    milestones: list[Milestone] = []
    ignored: dict[str, int] = {}
    for name, body in tags.items():
        if not isinstance(body, dict) or not isinstance(body.get("tasks"), list):
            raise malformed(source.name, name, 'a tag must be an object with a "tasks" list')
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        milestone = Milestone(key=slug(name), title=name, goal=(metadata or {}).get("description") or None)
        tag_items = _tag_items(source.name, name, body["tasks"], milestone.key if len(tags) > 1 else None, ignored)
        if tag_items:
            milestones.append(milestone)
            items.extend(tag_items)
    for key, count in sorted(ignored.items()):
        unmapped.append(f"field {key!r} ({count} task{'s' if count > 1 else ''}) has no place in a gateway plan")
    return build(
        tool="taskmaster",
        label=f"Task Master ({source.name}, tag{'s' if len(tags) > 1 else ''} {', '.join(tags)})",
        items=items,
        milestones=milestones if len(tags) > 1 else [],
        unmapped=unmapped,
        notes=[],
        source=source.name,
    )


def _text(value: Any, where: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise malformed(source, where, "expected a string")
    return value


def _tag_items(source: str, tag: str, tasks: list[Any], milestone: str | None, ignored: dict[str, int]) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for n, task in enumerate(tasks):
        where = f"{tag}.tasks[{n}]"
        if not isinstance(task, dict):
            raise malformed(source, where, "a task must be an object")
        task_id = _id(task.get("id"), f"{where}.id", source)
        if task_id in seen:
            raise malformed(source, f"{where}.id", f"task id {task_id} appears twice in tag {tag!r}")
        seen.add(task_id)
        for key in task:
            if key not in USED:
                ignored[key] = ignored.get(key, 0) + 1
        parent = _item(source, tag, where, task, f"{tag}:{task_id}", f"task {task_id}", milestone)
        parent.dependencies = [
            f"{tag}:{_dep_id(d, f'{where}.dependencies', source)}" for d in _list(task, "dependencies", where, source)
        ]
        subtasks = _list(task, "subtasks", where, source)
        sub_ids: set[str] = set()
        children: list[Item] = []
        for m, sub in enumerate(subtasks):
            sub_where = f"{where}.subtasks[{m}]"
            if not isinstance(sub, dict):
                raise malformed(source, sub_where, "a subtask must be an object")
            sub_id = _id(sub.get("id"), f"{sub_where}.id", source)
            if sub_id in sub_ids:
                raise malformed(source, f"{sub_where}.id", f"subtask id {sub_id} appears twice in task {task_id}")
            sub_ids.add(sub_id)
            for key in sub:
                if key not in USED:
                    ignored[key] = ignored.get(key, 0) + 1
            child = _item(
                source, tag, sub_where, sub, f"{tag}:{task_id}.{sub_id}", f"subtask {task_id}.{sub_id}", milestone
            )
            deps = []
            for dep in _list(sub, "dependencies", sub_where, source):
                dep_id = _dep_id(dep, f"{sub_where}.dependencies", source)
                # A bare number is a sibling subtask; "3.2" names another task's subtask; "3" a task of the tag.
                if isinstance(dep, int) or ("." not in dep_id and dep_id in {_sid(s) for s in subtasks}):
                    deps.append(f"{tag}:{task_id}.{dep_id}")
                else:
                    deps.append(f"{tag}:{dep_id}")
            # A subtask waits for what its parent waits for.
            child.dependencies = deps + [d for d in parent.dependencies if d not in deps]
            child.description = (child.description + f"\n\nSubtask {sub_id} of task {task_id}: {parent.title}").strip()
            children.append(child)
        parent.dependencies += [child.key for child in children]
        items.extend(children)
        items.append(parent)
    return items


def _sid(sub: Any) -> str:
    return str(sub.get("id")) if isinstance(sub, dict) else ""


def _item(source: str, tag: str, where: str, task: dict[str, Any], key: str, label: str, milestone: str | None) -> Item:
    title = task.get("title")
    if not isinstance(title, str) or not title.strip():
        raise malformed(source, f"{where}.title", "every task needs a non-empty title")
    description = _text(task.get("description"), f"{where}.description", source)
    details = _text(task.get("details"), f"{where}.details", source)
    test_strategy = _text(task.get("testStrategy"), f"{where}.testStrategy", source)
    given = task.get("acceptanceCriteria")
    criteria = [str(c) for c in given] if isinstance(given, list) else []
    if test_strategy:
        criteria.append(f"Test strategy: {test_strategy}")
    body = "\n\n".join(part for part in (description, f"Details:\n{details}" if details else "") if part)
    item = Item(
        key=key, title=title, where=f"{label} ({where})", description=body, criteria=criteria, milestone=milestone
    )
    raw_priority = task.get("priority")
    if raw_priority is not None:
        if raw_priority not in PRIORITIES:
            raise malformed(
                source, f"{where}.priority", f"unknown priority {raw_priority!r} (low, medium, high, critical)"
            )
        item.priority = PRIORITIES[raw_priority]
    raw_status = task.get("status", "pending")
    if not isinstance(raw_status, str):
        raise malformed(source, f"{where}.status", "expected a string")
    if raw_status in STATUSES:
        item.status = STATUSES[raw_status]
        item.status_note = f"Blocked in Task Master ({tag})" if item.status == BLOCKED else None
    else:
        item.status = PENDING
        item.status_note = f"status {raw_status!r}"
    item.points = points_of(task.get("complexity"))
    return item


def _id(value: Any, where: str, source: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise malformed(source, where, "every task needs an id (a number or a string)")
    return str(value).strip()


def _dep_id(value: Any, where: str, source: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise malformed(source, where, f"a dependency is a task id, not {value!r}")
    return str(value).strip()


def _list(task: dict[str, Any], key: str, where: str, source: str) -> list[Any]:
    value = task.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise malformed(source, f"{where}.{key}", "expected a list")
    return value
