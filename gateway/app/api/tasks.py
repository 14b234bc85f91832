"""/api/v1/projects/{project_id}/tasks"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gateway.app.api.deps import DEFAULT_LIMIT, Cursor, Limit, ReadSessionDep, SessionDep
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.schemas.tasks import TaskCreate, TaskPage, TaskRead, TaskUpdate
from gateway.app.services import tasks

router = APIRouter(prefix="/projects/{project_id}/tasks", tags=["tasks"], route_class=DocumentedRoute)
TaskId = Annotated[int, Path(description="The task's id", ge=1)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskRead, responses=problems(404, 413, 422))
def create_task(project_id: ProjectId, data: TaskCreate, session: SessionDep, response: Response) -> TaskRead:
    """Add a task to a project."""
    task = tasks.create(session=session, project_id=project_id, data=data)
    response.headers["Location"] = f"/api/v1/projects/{project_id}/tasks/{task.id}"
    return TaskRead.model_validate(task)


@router.get("", response_model=TaskPage, responses=problems(404, 422))
def list_tasks(
    project_id: ProjectId,
    session: ReadSessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    status: Annotated[str | None, Query(max_length=32, description="Only tasks in this status")] = None,
    plan_id: Annotated[int | None, Query(ge=1, description="Only tasks of this plan version")] = None,
) -> TaskPage:
    """List a project's tasks in creation order, one page at a time."""
    page = tasks.list_(
        session=session, project_id=project_id, limit=limit, cursor=cursor, status=status, plan_id=plan_id
    )
    return TaskPage(items=[TaskRead.model_validate(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/{task_id}", response_model=TaskRead, responses=problems(404))
def get_task(project_id: ProjectId, task_id: TaskId, session: ReadSessionDep) -> TaskRead:
    """Get one of a project's tasks."""
    return TaskRead.model_validate(tasks.get(session=session, project_id=project_id, task_id=task_id))


@router.patch("/{task_id}", response_model=TaskRead, responses=problems(404, 413, 422))
def update_task(project_id: ProjectId, task_id: TaskId, data: TaskUpdate, session: SessionDep) -> TaskRead:
    """Change a task's title, description or priority."""
    return TaskRead.model_validate(tasks.update(session=session, project_id=project_id, task_id=task_id, data=data))


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404))
def delete_task(project_id: ProjectId, task_id: TaskId, session: SessionDep) -> None:
    """Delete a task; its artifacts stay with the project."""
    tasks.delete_(session=session, project_id=project_id, task_id=task_id)
