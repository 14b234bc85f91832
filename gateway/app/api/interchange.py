"""Plans in and out (…/plans/imports, …/plans/{version}/export) and whole projects as archives."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from gateway.app.api.deps import CallerDep, ReadSessionDep, SessionDep
from gateway.app.api.plans import Version, read_plan
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.interchange import SourceFile
from gateway.app.schemas.interchange import ExportFormat, ImportRequest, ImportResult, ProjectArchive
from gateway.app.schemas.projects import ProjectRead
from gateway.app.services import archives, interchange
from gateway.app.storage import content_disposition

router = APIRouter(tags=["plans"], route_class=DocumentedRoute)
PLANS = "/projects/{project_id}/plans"


@router.post(
    f"{PLANS}/imports",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResult,
    responses={
        200: {"model": ImportResult, "description": "These files were imported before: that version, nothing changed"},
        **problems(404, 409, 413, 422),
    },
)
def import_plan(project_id: ProjectId, data: ImportRequest, session: SessionDep, response: Response) -> ImportResult:
    """Import a plan from Task Master, Backlog.md, spec-kit or a gateway export as the next version, proposed.

    Statuses the tool recorded are carried as progress; `unmapped` lists what could not be. A malformed file
    is a 422 naming the line or key, and nothing is written. The same files again answer 200 with the version
    the first import made.
    """
    plan, imported, created = interchange.import_plan(
        session=session,
        project_id=project_id,
        files=[SourceFile(name=f.name, content=f.content) for f in data.files],
        format=data.format,
        options={"tag": data.tag},
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ImportResult(
        format=imported.tool,
        created=created,
        unmapped=imported.unmapped,
        progress=imported.progress,
        plan=read_plan(session, plan, response),
    )


@router.get(
    f"{PLANS}/{{version}}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The version as a document",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "The version in the gateway's draft format (a PlanDraft)",
                        "examples": [{"summary": "Prototype plan for Star Courier…", "tasks": [], "highest_code": 14}],
                    }
                },
            },
        },
        **problems(404, 422),
    },
)
def export_plan(
    project_id: ProjectId,
    version: Version,
    session: ReadSessionDep,
    format: Annotated[
        ExportFormat, Query(description="markdown (a document), csv (a spreadsheet) or json (re-importable)")
    ] = "markdown",
) -> Response:
    """Export a version: Markdown for people, CSV for a spreadsheet, JSON in the gateway's draft format.

    The JSON imports back (`format: gateway`) into an identical plan.
    """
    text, media_type, filename = interchange.export_plan(
        session=session, project_id=project_id, version=version, format=format
    )
    return Response(text, media_type=media_type, headers={"Content-Disposition": content_disposition(filename)})


@router.get("/projects/{project_id}/archive", tags=["projects"], response_model=ProjectArchive, responses=problems(404))
def export_archive(project_id: ProjectId, session: ReadSessionDep) -> JSONResponse:
    """Export a project's whole history as one archive: plans, tasks, contexts, events, artifact metadata.

    Another gateway imports it with `POST /api/v1/archives`. Artifact files are not included (metadata only).
    """
    archive = archives.export_archive(session=session, project_id=project_id)
    return JSONResponse(archive, headers={"Content-Disposition": content_disposition(f"{project_id}-archive.json")})


@router.post(
    "/archives",
    tags=["projects"],
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectRead,
    responses=problems(409, 413, 422),
)
def import_archive(
    data: ProjectArchive,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    project_id: Annotated[
        str | None,
        Query(max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", description="Import under this id"),
    ] = None,
) -> ProjectRead:
    """Import a project archive (from `GET /projects/{id}/archive`) as a new project; all or nothing.

    Whoever imports it becomes its first member.
    A taken id is a 409 (give another with `project_id`); a malformed archive is a 422 naming the row.
    """
    project = archives.import_archive(
        session=session, archive=data.model_dump(), project_id=project_id, owner_id=caller.id
    )
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    return ProjectRead.model_validate(project)
