"""Finding the rows a use case starts from: a project (read, or locked for writing) and a task of a project.

Every service builds on these, and they build on no service: the project, task, artifact and context services
can use one another in one direction only (see tests/services/test_layers.py).
"""

from sqlmodel import Session, select

from gateway.app.db import ProjectDB, TaskDB
from gateway.app.errors import NotFound
from gateway.app.jsondoc import API_INT_MAX
from gateway.app.services.common import require


def get_project(*, session: Session, project_id: str) -> ProjectDB:
    """The project, or NotFound."""
    return require(session, ProjectDB, project_id, what="project")


def lock_project(*, session: Session, project_id: str) -> ProjectDB:
    """The project, locked until the transaction ends: writers of one project take turns.

    On PostgreSQL this is a row lock (SELECT … FOR UPDATE); on SQLite every write transaction already holds
    the database's write lock (BEGIN IMMEDIATE).
    """
    # Rows this session read before the lock may be stale by now: every check after the lock must see the
    # database as the lock leaves it, so forget them (they reload on their next use).
    session.expire_all()
    project = session.exec(select(ProjectDB).where(ProjectDB.id == project_id).with_for_update()).first()
    if project is None:
        return get_project(session=session, project_id=project_id)  # raises NotFound
    return project


def get_task(*, session: Session, project_id: str, task_id: int) -> TaskDB:
    """The project's task, or NotFound (also when the task belongs to another project, or the number is past
    any id: the database's driver cannot even carry one past 64 bits)."""
    task = session.get(TaskDB, task_id) if 1 <= task_id <= API_INT_MAX else None
    if task is None or task.project_id != project_id:
        get_project(session=session, project_id=project_id)
        raise NotFound(f"No task {task_id} in project {project_id!r}.", resource="task", id=task_id)
    return task
