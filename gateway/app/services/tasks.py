"""Tasks of a project: the baseline create, read, list, update and delete."""

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from gateway.app import outbox
from gateway.app.db import ArtifactDB, ContextDB, TaskDB, TaskPlanDB, utc_now
from gateway.app.errors import Conflict, NotFound
from gateway.app.logging import get_logger
from gateway.app.schemas.tasks import TaskCreate, TaskUpdate
from gateway.app.services import lookups
from gateway.app.services.common import Page, page_by_id

log = get_logger(__name__)


def get(*, session: Session, project_id: str, task_id: int) -> TaskDB:
    """The project's task, or NotFound (also when the task belongs to another project)."""
    return lookups.get_task(session=session, project_id=project_id, task_id=task_id)


def create(*, session: Session, project_id: str, data: TaskCreate) -> TaskDB:
    """Add a task to the project, outside any plan version."""
    lookups.get_project(session=session, project_id=project_id)
    task = TaskDB(project_id=project_id, **data.model_dump())
    session.add(task)
    session.flush()
    outbox.record(session, project_id=project_id, type="task.created", data={"task_id": task.id}, actor="user")
    session.commit()
    log.info("task created", project_id=project_id, task_id=task.id)
    return task


def list_(
    *,
    session: Session,
    project_id: str,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    plan_id: int | None = None,
    plan_version: int | None = None,
    all_plans: bool = False,
) -> Page[TaskDB]:
    """A page of the project's tasks, in creation order, optionally filtered.

    By default the accepted plan's tasks (and tasks added outside any plan): a version's tasks only when asked
    for by `plan_id` or `plan_version`, every version's with `all_plans`.
    """
    project = lookups.get_project(session=session, project_id=project_id)
    statement = select(TaskDB).where(TaskDB.project_id == project_id)
    if status is not None:
        statement = statement.where(TaskDB.status == status)
    if plan_version is not None:
        plan = session.exec(
            select(TaskPlanDB).where(TaskPlanDB.project_id == project_id, TaskPlanDB.version == plan_version)
        ).first()
        if plan is None:
            raise NotFound(
                f"Project {project_id!r} has no plan version {plan_version}.", resource="plan", id=plan_version
            )
        statement = statement.where(TaskDB.plan_id == plan.id)
    elif plan_id is not None:
        statement = statement.where(TaskDB.plan_id == plan_id)
    elif not all_plans:
        outside = col(TaskDB.plan_id).is_(None)
        statement = statement.where(
            or_(outside, col(TaskDB.plan_id) == project.active_plan_id) if project.active_plan_id else outside
        )
    return page_by_id(session, statement, TaskDB.id, limit=limit, cursor=cursor)


def _editable(task: TaskDB) -> None:
    if task.plan_id is not None:
        raise Conflict(
            f"Task {task.code} belongs to a plan version, and versions never change: edit the plan instead "
            "(POST …/plans/{version}/edits), which makes the next version.",
            task_id=task.id,
            plan_id=task.plan_id,
        )


def update(*, session: Session, project_id: str, task_id: int, data: TaskUpdate) -> TaskDB:
    """Change a task's title, description or priority (tasks outside a plan only)."""
    task = get(session=session, project_id=project_id, task_id=task_id)
    _editable(task)
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(task, field, value)
    if changes:
        task.updated_at = utc_now()
        session.add(task)
        outbox.record(
            session,
            project_id=project_id,
            type="task.updated",
            data={"task_id": task_id, "fields": sorted(changes)},
            actor="user",
        )
        session.commit()
        log.info("task updated", project_id=project_id, task_id=task_id, fields=sorted(changes))
    return task


def delete_(*, session: Session, project_id: str, task_id: int) -> None:
    """Delete a task outside a plan, with its contexts; its artifacts stay with the project, detached."""
    task = get(session=session, project_id=project_id, task_id=task_id)
    _editable(task)
    session.execute(delete(ContextDB).where(col(ContextDB.task_id) == task_id, col(ContextDB.project_id) == project_id))
    for artifact in session.exec(select(ArtifactDB).where(ArtifactDB.task_id == task_id)):
        artifact.task_id = None
        session.add(artifact)
    session.delete(task)
    outbox.record(session, project_id=project_id, type="task.deleted", data={"task_id": task_id}, actor="user")
    session.commit()
    log.info("task deleted", project_id=project_id, task_id=task_id)
