"""What an agent needs to work on a task, in one read: the task, its context, its inputs and its tools.

REST (`GET …/tasks/{id}/briefing`) and MCP (`get_task`, `claim_task`) give the same briefing.
"""

from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_
from sqlmodel import Session, col, select

from gateway.app import task_states
from gateway.app.db import ProjectDB, TaskDB, TaskPlanDB
from gateway.app.errors import NotFound
from gateway.app.planner import load_catalogue
from gateway.app.services import artifacts as artifact_service
from gateway.app.services import contexts, plans, projects, task_execution, task_views, tasks

# The parts of the global context an agent needs for any task (progress is summarised separately).
GLOBAL_KEYS = ("game", "conventions", "constraints", "glossary")
DECISIONS_SHOWN = 10


def resolve_task(session: Session, *, project_id: str, ref: str | int | None, agent_id: str | None = None) -> TaskDB:
    """A task by its code in the accepted plan (`T-004`) or by its id.

    Without a ref: the task the agent holds (started first), else the project's current task.
    """
    project = projects.get(session=session, project_id=project_id)
    if ref is None and agent_id is not None:
        held = held_by(session, project=project, agent_id=agent_id)
        if held is not None:
            return held
    if ref is None:
        if project.current_task_id is None:
            raise NotFound("The project has no current task (no accepted plan, or nothing is ready).")
        return tasks.get(session=session, project_id=project_id, task_id=project.current_task_id)
    text = str(ref).strip()
    if text.isascii() and text.isdigit():
        return tasks.get(session=session, project_id=project_id, task_id=int(text))
    task = None
    if project.active_plan_id is not None:
        task = session.exec(
            select(TaskDB).where(TaskDB.plan_id == project.active_plan_id, TaskDB.code == text.upper())
        ).first()
    if task is None:
        # A code the accepted plan dropped still names the task it closed: whoever held it learns why.
        task = session.exec(
            select(TaskDB)
            .where(
                TaskDB.project_id == project_id,
                TaskDB.code == text.upper(),
                TaskDB.status == task_states.CANCELLED,
                col(TaskDB.closed_reason).is_not(None),
            )
            .order_by(col(TaskDB.id).desc())
        ).first()
    if task is None:
        raise NotFound(f"No task {text!r} in the accepted plan of {project_id!r}.", resource="task", id=text)
    return task


def held_by(session: Session, *, project: ProjectDB, agent_id: str) -> TaskDB | None:
    """The task of the accepted plan (or outside any plan) an agent holds: a started one first, then by idx."""
    plan_filter: ColumnElement[bool] = col(TaskDB.plan_id).is_(None)
    if project.active_plan_id is not None:
        plan_filter = or_(plan_filter, col(TaskDB.plan_id) == project.active_plan_id)
    rows = session.exec(
        select(TaskDB).where(TaskDB.project_id == project.id, TaskDB.claimed_by == agent_id, plan_filter)
    ).all()
    started = sorted(rows, key=lambda t: (t.status != task_states.IN_PROGRESS, t.idx, t.id))
    return started[0] if started else None


def notices(session: Session, *, project_id: str, agent_id: str) -> list[dict[str, Any]]:
    """What an agent must be told on its next call: tasks the latest re-plan took from it, and why."""
    project = projects.get(session=session, project_id=project_id)
    return [
        {"task": task.code, "status": task.status, "reason": task.closed_reason}
        for task in task_execution.withdrawn_from(session, project=project, agent_id=agent_id)
    ]


def progress(session: Session, project: ProjectDB) -> dict[str, Any]:
    """Where the project stands: its status, accepted plan version, counts by status and current task."""
    summary: dict[str, Any] = {"project_id": project.id, "name": project.name, "status": project.status}
    if project.active_plan_id is None:
        versions = plans.list_versions(session=session, project_id=project.id)
        summary["plan"] = None
        summary["open_proposals"] = sorted(p.version for p in versions if p.status == plans.PROPOSED)
        return summary
    plan_tasks = session.exec(select(TaskDB).where(TaskDB.plan_id == project.active_plan_id)).all()
    counts: dict[str, int] = {}
    for task in plan_tasks:
        counts[task.status] = counts.get(task.status, 0) + 1
    active = plans.active(session=session, project_id=project.id)
    current = session.get(TaskDB, project.current_task_id) if project.current_task_id else None
    summary |= {
        "plan": {"version": active.version, "tasks": len(plan_tasks), "summary": active.summary},
        "milestones": milestone_progress(plans.milestones_of(active), list(plan_tasks)),
        "counts": counts,
        "done_percent": round(100 * counts.get(task_states.DONE, 0) / len(plan_tasks)) if plan_tasks else 0,
        "current_task": {"id": current.id, "code": current.code, "title": current.title} if current else None,
        "ready": [t.code for t in task_states.ready_tasks(list(plan_tasks), by_priority=True)[:5]],
    }
    return summary


def milestone_progress(milestones: list[dict[str, Any]], plan_tasks: list[TaskDB]) -> list[dict[str, Any]]:
    """Each milestone with how many of its tasks are done (computed when read, never stored)."""
    out = []
    for milestone in milestones:
        members = [t for t in plan_tasks if t.milestone == milestone["key"]]
        done = sum(1 for t in members if t.status == task_states.DONE)
        out.append({"key": milestone["key"], "title": milestone["title"], "tasks": len(members), "done": done})
    return out


# Built once: a briefing needs a few columns of the project and of the plan, not their models.
_PROJECT = select(ProjectDB.id, ProjectDB.name, ProjectDB.status).where(ProjectDB.id == bindparam("project_id"))
_PLAN_MILESTONES = select(TaskPlanDB.milestones).where(TaskPlanDB.id == bindparam("plan_id"))


def _milestone(session: Session, task: TaskDB) -> dict[str, Any] | None:
    """The milestone the task belongs to, with its goal (None for plans without milestones)."""
    if task.milestone is None or task.plan_id is None:
        return None
    # The milestones column only, by a statement built once (not the plan as a model).
    plan = session.connection().execute(_PLAN_MILESTONES, {"plan_id": task.plan_id}).first()
    found = next((m for m in plans.milestones_of(plan) if m["key"] == task.milestone), None) if plan else None  # type: ignore[arg-type]  # a row with the plan's milestones column
    return found or {"key": task.milestone, "title": task.milestone, "goal": None}


def briefing(session: Session, *, project_id: str, task: TaskDB) -> dict[str, Any]:
    """Everything needed to do a task, each fact once: the task, its inputs, the context that bears on it, tools.

    The task context's generated parts (the task, its dependencies, the decisions) are already here in full; only
    what was added to it by hand appears under `context.task`. Game, conventions, constraints and glossary come
    once, from the global context.
    """
    row = session.connection().execute(_PROJECT, {"project_id": project_id}).first()
    project = row if row is not None else projects.get(session=session, project_id=project_id)  # (NotFound)
    dependencies = task_views.dependencies_of(session, task)
    depends_on = [d.code for d in dependencies]
    artifacts = artifact_service.by_task(session, [task.id, *(d.id for d in dependencies)])  # type: ignore[list-item]  # ids of stored rows are set (SQLModel types them Optional)
    global_row, task_context = contexts.active_for_task(session, project_id, task.id)  # type: ignore[arg-type]  # a stored row's id is set (SQLModel types it Optional)
    global_context = contexts.content_of(global_row) if global_row else {}
    added = {
        key: value
        for key, value in (contexts.content_of(task_context) if task_context else {}).items()
        if key not in contexts.GENERATED_TASK_KEYS
    }
    return {
        "task": task_views.full(
            task,
            artifacts=artifacts.get(task.id, []),  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
            missing=task_execution.missing_deliverables(session, task),
            milestone=_milestone(session, task),
        ),
        "dependencies": [
            task_views.dependency(dep, artifacts=artifacts.get(dep.id, []))  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
            for dep in dependencies
        ],
        "tools": load_catalogue().resolve(task_states.tools_of(task)),
        "context": {
            "global": {key: global_context[key] for key in GLOBAL_KEYS if key in global_context},
            "global_version": global_row.version if global_row else None,
            "decisions": contexts.relevant_decisions(global_context.get("decisions", []), {task.code, *depends_on})[
                -DECISIONS_SHOWN:
            ],
            "task": added or None,
            "task_version": task_context.version if task_context else None,
        },
        "project": {"id": project.id, "name": project.name, "status": project.status},
    }
