"""Task statuses, the transitions between them, and which tasks are ready: rules every service shares."""

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from gateway.app.db import TaskDB
from gateway.app.errors import TaskWithdrawn

PENDING, IN_PROGRESS, REVIEW, DONE, BLOCKED, CANCELLED = (
    "pending",
    "in_progress",
    "review",
    "done",
    "blocked",
    "cancelled",
)
# A dependency in one of these states no longer holds anything up.
RESOLVED = frozenset({DONE, CANCELLED})
ACTIVE = frozenset({IN_PROGRESS, REVIEW})


class TaskLike(Protocol):
    """What readiness needs to know of a task."""

    code: str | None
    idx: int
    priority: int
    status: str
    dependencies: list[str] | None
    id: int | None
    closed_reason: str | None
    released_from: str | None


TaskT = TypeVar("TaskT", bound=TaskLike)


def dependency_codes(task: TaskLike) -> list[str]:
    """The codes a task depends on."""
    return list(task.dependencies or [])


# The seed's JSON columns of a task are `str` by its contract (JSON text, not a JSON column type): read here.


def deliverables_of(task: TaskDB) -> list[dict[str, Any]]:
    """The files a task hands in, as the plan states them (`deliverables`, parsed)."""
    return json.loads(task.deliverables) if task.deliverables else []


def estimates_of(task: TaskDB) -> dict[str, Any] | None:
    """A task's estimates {story_points, time_hours} (`estimates`, parsed)."""
    return json.loads(task.estimates) if task.estimates else None


def tools_of(task: TaskDB) -> list[Any]:
    """The MCP tools suggested for a task (`mcp_tools`, parsed)."""
    return json.loads(task.mcp_tools) if task.mcp_tools else []


def is_ready(task: TaskLike, status_by_code: dict[str, str]) -> bool:
    """Pending, and every dependency done (or cancelled)."""
    return task.status == PENDING and all(status_by_code.get(code) in RESOLVED for code in dependency_codes(task))


def ready_tasks(tasks: Sequence[TaskT], *, by_priority: bool = False) -> list[TaskT]:
    """The tasks that can start now: lowest idx first, or highest priority then lowest idx."""
    status_by_code = {task.code: task.status for task in tasks if task.code}
    ready = [task for task in tasks if is_ready(task, status_by_code)]
    if by_priority:
        return sorted(ready, key=lambda task: (-task.priority, task.idx))
    return sorted(ready, key=lambda task: task.idx)


def all_resolved(tasks: Iterable[TaskLike]) -> bool:
    """Every task is done or cancelled, and at least one is done."""
    statuses = [task.status for task in tasks]
    return bool(statuses) and all(status in RESOLVED for status in statuses) and DONE in statuses


def ensure_not_withdrawn(task: TaskLike) -> None:
    """Refuse work on a task closed without being done, saying why (a re-plan dropped it, a user cancelled it)."""
    if task.status == CANCELLED:
        reason = task.closed_reason or "It was cancelled."
        released = f" The claim of {task.released_from} on it was released." if task.released_from else ""
        raise TaskWithdrawn(
            f"Task {task.code or task.id} is closed: {reason}{released} Nothing more to do on it; "
            "claim the next task instead.",
            task_id=task.id,
            code=task.code,
            current_status=task.status,
            reason=reason,
        )
