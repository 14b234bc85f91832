"""/api/v1/projects"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gateway.app.api.deps import (
    DEFAULT_LIMIT,
    CallerDep,
    KeyCursor,
    Limit,
    ReadSessionDep,
    SessionDep,
    StoreDep,
    visibility,
)
from gateway.app.api.problems import problems
from gateway.app.api.routing import DocumentedRoute
from gateway.app.schemas.projects import ProjectCreate, ProjectPage, ProjectRead, ProjectStatus, ProjectUpdate
from gateway.app.services import projects

router = APIRouter(prefix="/projects", tags=["projects"], route_class=DocumentedRoute)
ProjectId = Annotated[str, Path(description="The project's id (slug)", max_length=64)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectRead,
    responses=problems(409, 413, 422),
)
def create_project(data: ProjectCreate, session: SessionDep, caller: CallerDep, response: Response) -> ProjectRead:
    """Create a project.

    The id is the one given, or a free slug made from the name. A taken id is a 409. Its creator becomes its
    first member.
    """
    project = projects.create(session=session, data=data, owner_id=caller.id)
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    return ProjectRead.model_validate(project)


@router.get("", response_model=ProjectPage, responses=problems(422))
def list_projects(
    session: ReadSessionDep,
    caller: CallerDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: KeyCursor = None,
    status: Annotated[ProjectStatus | None, Query(description="Only projects in this status")] = None,
) -> ProjectPage:
    """List the projects you may see, newest first, one page at a time."""
    page = projects.list_(session=session, limit=limit, cursor=cursor, status=status, **visibility(caller))
    return ProjectPage(items=[ProjectRead.model_validate(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/{project_id}", response_model=ProjectRead, responses=problems(404))
def get_project(project_id: ProjectId, session: ReadSessionDep) -> ProjectRead:
    """Get a project."""
    return ProjectRead.model_validate(projects.get(session=session, project_id=project_id))


@router.patch("/{project_id}", response_model=ProjectRead, responses=problems(404, 413, 422))
def update_project(project_id: ProjectId, data: ProjectUpdate, session: SessionDep) -> ProjectRead:
    """Change a project's name, description, review rule or part of its brief (merged, not replaced).

    Fields left out keep their value. `brief` is a JSON Merge Patch of the current brief: `{"brief":
    {"platforms": ["switch"]}}` changes the platforms and keeps the genre, engine and the rest; `null` resets a
    field to its default. The merged brief is validated as a whole (422 and nothing changes otherwise).
    """
    return ProjectRead.model_validate(projects.update(session=session, project_id=project_id, data=data))


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404))
def delete_project(project_id: ProjectId, session: SessionDep, store: StoreDep) -> None:
    """Delete a project with its tasks, artifacts, plans and contexts."""
    projects.delete_(session=session, project_id=project_id, store=store)
