"""/api/v1/projects/{project_id}/artifacts"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gateway.app.api.deps import DEFAULT_LIMIT, Cursor, Limit, ReadSessionDep, SessionDep
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.schemas.artifacts import (
    ArtifactCreate,
    ArtifactPage,
    ArtifactRead,
    ArtifactUpdate,
    Category,
    ValidationStatus,
)
from gateway.app.services import artifacts

router = APIRouter(prefix="/projects/{project_id}/artifacts", tags=["artifacts"], route_class=DocumentedRoute)
ArtifactId = Annotated[int, Path(description="The artifact's id", ge=1)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ArtifactRead, responses=problems(404, 413, 422))
def create_artifact(
    project_id: ProjectId, data: ArtifactCreate, session: SessionDep, response: Response
) -> ArtifactRead:
    """Register an artifact's metadata for a project or one of its tasks."""
    artifact = artifacts.create(session=session, project_id=project_id, data=data)
    response.headers["Location"] = f"/api/v1/projects/{project_id}/artifacts/{artifact.id}"
    return ArtifactRead.model_validate(artifact)


@router.get("", response_model=ArtifactPage, responses=problems(404, 422))
def list_artifacts(
    project_id: ProjectId,
    session: ReadSessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    task_id: Annotated[int | None, Query(ge=1, description="Only artifacts of this task")] = None,
    category: Annotated[Category | None, Query(description="Only artifacts of this category")] = None,
    validation_status: Annotated[ValidationStatus | None, Query(description="Only in this state")] = None,
) -> ArtifactPage:
    """List a project's artifacts in creation order, one page at a time."""
    page = artifacts.list_(
        session=session,
        project_id=project_id,
        limit=limit,
        cursor=cursor,
        task_id=task_id,
        category=category,
        validation_status=validation_status,
    )
    return ArtifactPage(items=[ArtifactRead.model_validate(a) for a in page.items], next_cursor=page.next_cursor)


@router.get("/{artifact_id}", response_model=ArtifactRead, responses=problems(404))
def get_artifact(project_id: ProjectId, artifact_id: ArtifactId, session: ReadSessionDep) -> ArtifactRead:
    """Get an artifact's metadata."""
    return ArtifactRead.model_validate(artifacts.get(session=session, project_id=project_id, artifact_id=artifact_id))


@router.patch("/{artifact_id}", response_model=ArtifactRead, responses=problems(404, 413, 422))
def update_artifact(
    project_id: ProjectId, artifact_id: ArtifactId, data: ArtifactUpdate, session: SessionDep
) -> ArtifactRead:
    """Change an artifact's name, content type or category."""
    artifact = artifacts.update(session=session, project_id=project_id, artifact_id=artifact_id, data=data)
    return ArtifactRead.model_validate(artifact)


@router.delete("/{artifact_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404))
def delete_artifact(project_id: ProjectId, artifact_id: ArtifactId, session: SessionDep) -> None:
    """Delete an artifact's metadata."""
    artifacts.delete_(session=session, project_id=project_id, artifact_id=artifact_id)
