"""/api/v1/projects/{project_id}/artifacts"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import FileResponse
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from gateway.app import errors
from gateway.app.api.deps import DEFAULT_LIMIT, Cursor, DbDep, Limit, ReadSessionDep, SessionDep, StoreDep
from gateway.app.api.multipart import MultipartFile
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
    WorkspaceFile,
)
from gateway.app.schemas.common import API_INT_MAX
from gateway.app.services import artifacts
from gateway.app.storage import content_disposition

router = APIRouter(prefix="/projects/{project_id}/artifacts", tags=["artifacts"], route_class=DocumentedRoute)
ArtifactId = Annotated[int, Path(description="The artifact's id", ge=1, le=API_INT_MAX)]


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
    task_id: Annotated[int | None, Query(ge=1, le=API_INT_MAX, description="Only artifacts of this task")] = None,
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
def delete_artifact(project_id: ProjectId, artifact_id: ArtifactId, session: SessionDep, store: StoreDep) -> None:
    """Delete an artifact (its stored file too, unless another artifact has the same bytes)."""
    artifacts.delete_(session=session, project_id=project_id, artifact_id=artifact_id, store=store)


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary", "description": "The file"}},
            },
            "examples": {"script": {"summary": "A GDScript file", "value": {"file": "player.gd"}}},
        }
    },
}


@router.post(
    "/files",
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactRead,
    responses=problems(404, 413, 422),
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_artifact(
    project_id: ProjectId,
    request: Request,
    response: Response,
    db: DbDep,
    store: StoreDep,
    task_id: Annotated[int | None, Query(ge=1, le=API_INT_MAX, description="The task the file is for")] = None,
    category: Annotated[Category | None, Query(description="Inferred from the file when left out")] = None,
    path: Annotated[str | None, Query(max_length=1024, description="Where it belongs in the project")] = None,
) -> ArtifactRead:
    """Upload a file (multipart, part `file`), streamed to disk, stored by SHA-256 and validated.

    The answer is 201 whether the file is valid or not: `validation_status` and `validation_report` say
    which and why. Too large a file is a 413 (`payload-too-large`), and so is a file past the project's storage
    limit (`project-storage-full`); an interrupted or refused upload leaves nothing behind.
    """
    upload = MultipartFile(request)
    settings = request.app.state.settings
    artifact = await artifacts.upload(
        db,
        store,
        target=artifacts.FileTarget(project_id, task_id, category, path),
        chunks=upload.chunks(),
        filename=lambda: upload.filename,
        max_bytes=settings.max_upload_bytes,
        limits=settings.validation_limits,
        quota=settings.max_project_storage_bytes,
    )
    response.headers["Location"] = f"/api/v1/projects/{project_id}/artifacts/{artifact.id}"
    return ArtifactRead.model_validate(artifact)


@router.post(
    "/workspace", status_code=status.HTTP_201_CREATED, response_model=ArtifactRead, responses=problems(404, 413, 422)
)
def register_workspace_artifact(
    project_id: ProjectId, data: WorkspaceFile, request: Request, response: Response, db: DbDep, store: StoreDep
) -> ArtifactRead:
    """Record a file from the project's workspace (`<workspace root>/<project id>/…`), copied in and validated.

    A path that leaves the workspace (absolute, `..`, a symlink out) is refused.
    """
    settings = request.app.state.settings
    artifact = artifacts.register_workspace_file(
        db,
        store,
        target=artifacts.FileTarget(project_id, data.task_id, data.category, data.path),
        workspace=settings.workspace_for(project_id),
        max_bytes=settings.max_upload_bytes,
        limits=settings.validation_limits,
        quota=settings.max_project_storage_bytes,
    )
    response.headers["Location"] = f"/api/v1/projects/{project_id}/artifacts/{artifact.id}"
    return ArtifactRead.model_validate(artifact)


ANY_BYTES = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
RANGE = {"description": "Bytes wanted (RFC 9110), e.g. `bytes=0-1023`; 206 answers them", "schema": {"type": "string"}}


@router.get(
    "/{artifact_id}/content",
    response_class=FileResponse,
    responses={
        200: {"description": "The file's bytes, as its recorded content type", "content": ANY_BYTES},
        206: {
            "description": "The bytes a `Range` asked for (several ranges: multipart/byteranges)",
            "content": ANY_BYTES,
        },
        **problems(404, 416),
    },
    openapi_extra={"parameters": [{"name": "Range", "in": "header", "required": False, "schema": RANGE["schema"]}]},
)
def download_artifact(
    project_id: ProjectId, artifact_id: ArtifactId, session: ReadSessionDep, store: StoreDep, request: Request
) -> FileResponse:
    """Download an artifact's file, with its content type and a safe file name (`Range` for part of it)."""
    artifact, path = artifacts.content(session=session, store=store, project_id=project_id, artifact_id=artifact_id)
    stat = path.stat()
    response = FileResponse(
        path,
        media_type=artifact.mime_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(artifact.name),
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{artifact.sha256}"',
        },
        stat_result=stat,
    )
    _check_range(request.headers.get("range"), request.headers.get("if-range"), stat.st_size, response)
    return response


def _check_range(wanted: str | None, if_range: str | None, size: int, response: FileResponse) -> None:
    """A `Range` the file cannot answer is a 416 problem (Starlette would answer it in plain text, and a malformed
    one a plain-text 400). An `If-Range` that no longer matches means the whole file (200), as Starlette decides;
    one that matches (the ETag or Last-Modified) holds the range to the same rule."""
    if wanted is None or (if_range is not None and not response._should_use_range(if_range)):
        return
    try:
        FileResponse._parse_range_header(wanted, size)  # the parser FileResponse itself applies next
    except (MalformedRangeHeader, RangeNotSatisfiable) as exc:
        raise errors.RangeNotSatisfiable(
            f"Range {wanted[:100]!r} does not fit a file of {size} bytes (e.g. `bytes=0-{max(size - 1, 0)}`).",
            size=size,
        ) from exc


@router.post("/{artifact_id}/validate", response_model=ArtifactRead, responses=problems(404, 409))
def revalidate_artifact(
    project_id: ProjectId, artifact_id: ArtifactId, request: Request, db: DbDep, store: StoreDep
) -> ArtifactRead:
    """Validate an artifact's file again and record the new report."""
    limits = request.app.state.settings.validation_limits
    artifact = artifacts.revalidate(db, store, project_id=project_id, artifact_id=artifact_id, limits=limits)
    return ArtifactRead.model_validate(artifact)
