"""The views of a task that every door shows: the whole task, a dependency, a reference, a transition's outcome.

The briefing, the task context and the MCP answers build on these, so a task reads the same wherever it appears.
"""

from typing import Any

from sqlmodel import Session, col, select

from gateway.app import task_states
from gateway.app.db import TaskDB


def ref(task: TaskDB) -> dict[str, Any]:
    """A task named, not described: its code and title (the id for tasks outside a plan)."""
    return {"id": task.id, "code": task.code, "title": task.title}


def full(
    task: TaskDB,
    *,
    artifacts: list[dict[str, Any]],
    missing: list[dict[str, Any]],
    milestone: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything about the task itself an agent needs to do it (its inputs and context come separately)."""
    view: dict[str, Any] = {
        "id": task.id,
        "code": task.code,
        "title": task.title,
        "status": task.status,
        "discipline": task.discipline,
        "priority": task.priority,
        "description": task.description,
        "acceptance_criteria": task.acceptance_criteria or [],
        "deliverables": task_states.deliverables_of(task),
        "estimates": task_states.estimates_of(task),
        "milestone": milestone,
        "claimed_by": task.claimed_by,
        "lease_expires_at": task.lease_expires_at.isoformat() if task.lease_expires_at else None,
        "artifacts": artifacts,
        "missing_deliverables": missing,
    }
    if task.closed_reason:
        view["closed_reason"] = task.closed_reason
    return view


def dependency(task: TaskDB, *, artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    """A task another one waits for: what it delivered (summary and files), and whether it is done."""
    return {
        "code": task.code,
        "title": task.title,
        "status": task.status,
        "summary": task.summary,
        "artifacts": artifacts,
    }


def outcome(task: TaskDB) -> dict[str, Any]:
    """Where a task stands after a transition: status, holder, and why it was closed if it was."""
    view = {"code": task.code, "status": task.status, "claimed_by": task.claimed_by}
    if task.closed_reason:
        view["closed_reason"] = task.closed_reason
    return view


def dependencies_of(session: Session, task: TaskDB) -> list[TaskDB]:
    """The tasks a task depends on, in plan order."""
    codes = task_states.dependency_codes(task)
    if not codes or task.plan_id is None:
        return []
    rows = session.exec(select(TaskDB).where(TaskDB.plan_id == task.plan_id, col(TaskDB.code).in_(codes))).all()
    return sorted(rows, key=lambda row: row.idx)
