"""/api/v1/projects/{project_id}/context and …/tasks/{task_id}/context: versioned context documents."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Response
from pydantic import BaseModel

from gateway.app.api.deps import DEFAULT_LIMIT, CallerDep, Cursor, Limit, ReadSessionDep, SessionDep, authorship
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.api.tasks import TaskId
from gateway.app.db import ContextDB
from gateway.app.schemas.common import API_INT_MAX
from gateway.app.schemas.contexts import (
    CONTEXT_SHAPE,
    GLOBAL_CONTEXT_EXAMPLE,
    ContextChange,
    ContextDiff,
    ContextHistory,
    ContextVersionRead,
    ContextVersionSummary,
    GlobalContext,
    TaskContext,
)
from gateway.app.services import contexts

router = APIRouter(prefix="/projects/{project_id}", tags=["contexts"], route_class=DocumentedRoute)

Version = Annotated[int, Path(ge=1, le=API_INT_MAX, description="Version number within this context")]
# One version's ETag, strong or weak: the pattern is the whole rule (any other If-Match is a 422 before anything).
ETAG_PATTERN = r'^(W/)?"[0-9]{1,15}"$'
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The version your edit is based on, as its ETag (`"3"`). Required once a version exists '
        "(428 without it, 412 when it is no longer the active version); a JSON Patch of appends only needs none.",
        pattern=ETAG_PATTERN,
        examples=['"3"'],
    ),
]
CONTENT_BODY = Body(
    description="The whole new content (a JSON object).",
    examples=[GLOBAL_CONTEXT_EXAMPLE],
)
PATCH_BODY = Body(
    description="Either a JSON Merge Patch (RFC 7386, an object: objects merge, `null` removes a key, an array "
    "replaces the whole array) or a JSON Patch (RFC 6902, an array of operations, sent as "
    "`application/json-patch+json`). To add an entry without replacing a list (decisions, constraints, notes), "
    'use JSON Patch `[{"op": "add", "path": "/decisions/-", "value": {...}}]`: a patch made only of such '
    "appends needs no If-Match and never loses anyone's entry. " + CONTEXT_SHAPE,
    examples=[
        {"glossary": {"dash": "a burst of speed on the ground"}, "constraints": ["no online features"]},
        [{"op": "add", "path": "/decisions/-", "value": {"what": "Use 16x16 tiles", "why": "Matches the art"}}],
    ],
    media_type="application/merge-patch+json",
)
EDIT_PROBLEMS = problems(404, 412, 413, 422, 428)


def as_sent(content: BaseModel) -> dict[str, Any]:
    """The content as the client wrote it (the model documents and checks the shape; defaults are not added)."""
    return content.model_dump(mode="json", exclude_unset=True)


def expected_version(if_match: str | None) -> int | None:
    """The version number an If-Match header names (None when absent); the header's pattern checked its form."""
    return None if if_match is None else int(if_match.removeprefix("W/").strip('"'))


def _patch(
    session: Any, project_id: str, task_id: int | None, patch: Any, if_match: str | None, caller: Any
) -> ContextDB:
    """A JSON Patch (an array of operations) or a JSON Merge Patch (an object)."""
    edit = contexts.json_patch if isinstance(patch, list) else contexts.patch
    arguments = {"operations": patch} if isinstance(patch, list) else {"patch": patch}
    return edit(
        session=session,
        project_id=project_id,
        task_id=task_id,
        expected_version=expected_version(if_match),
        **arguments,
        **authorship(caller),
    )


def _read(row: ContextDB, response: Response, session: Any = None) -> ContextVersionRead:
    response.headers["ETag"] = f'"{row.version}"'
    content = contexts.current_content(session, row) if session is not None else contexts.content_of(row)
    return ContextVersionRead.model_validate({**row.model_dump(), "content": content})


def _history(page: Any) -> ContextHistory:
    return ContextHistory(
        items=[ContextVersionSummary.model_validate(row) for row in page.items], next_cursor=page.next_cursor
    )


def _diff(changes: list[dict[str, Any]], from_version: int, to_version: int) -> ContextDiff:
    return ContextDiff(
        from_version=from_version,
        to_version=to_version,
        changes=[ContextChange(**change) for change in changes],
    )


FromVersion = Annotated[int, Query(alias="from", ge=1, le=API_INT_MAX, description="The older version")]
ToVersion = Annotated[int, Query(alias="to", ge=1, le=API_INT_MAX, description="The newer version")]


# --- The project's global context ---------------------------------------------------------------------


@router.get("/context", response_model=ContextVersionRead, responses=problems(404))
def get_context(project_id: ProjectId, session: ReadSessionDep, response: Response) -> ContextVersionRead:
    """Get the active global context (its ETag is its version; its `progress` is computed as it is read)."""
    return _read(contexts.get_active(session=session, project_id=project_id), response, session)


@router.put("/context", response_model=ContextVersionRead, responses=EDIT_PROBLEMS)
def replace_context(
    project_id: ProjectId,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    content: Annotated[GlobalContext, CONTENT_BODY],
    if_match: IfMatch = None,
) -> ContextVersionRead:
    """Replace the global context with a new version (If-Match required).

    A stale If-Match is a 412 carrying the current version; nothing is written.
    """
    row = contexts.replace(
        session=session,
        project_id=project_id,
        content=as_sent(content),
        expected_version=expected_version(if_match),
        **authorship(caller),
    )
    return _read(row, response)


@router.patch("/context", response_model=ContextVersionRead, responses=EDIT_PROBLEMS)
def patch_context(
    project_id: ProjectId,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    patch: Annotated[dict[str, Any] | list[dict[str, Any]], PATCH_BODY],
    if_match: IfMatch = None,
) -> ContextVersionRead:
    """Patch the global context into a new version: JSON Merge Patch, or JSON Patch (appends need no If-Match)."""
    return _read(_patch(session, project_id, None, patch, if_match, caller), response)


@router.get("/context/versions", response_model=ContextHistory, responses=problems(404, 422))
def list_context_versions(
    project_id: ProjectId, session: ReadSessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> ContextHistory:
    """List the global context's versions, newest first."""
    return _history(contexts.history(session=session, project_id=project_id, limit=limit, cursor=cursor))


@router.get("/context/versions/{version}", response_model=ContextVersionRead, responses=problems(404))
def get_context_version(
    project_id: ProjectId, version: Version, session: ReadSessionDep, response: Response
) -> ContextVersionRead:
    """Get one version of the global context."""
    return _read(contexts.get_version(session=session, project_id=project_id, version=version), response)


@router.get("/context/diff", response_model=ContextDiff, responses=problems(404, 422))
def diff_context(
    project_id: ProjectId, session: ReadSessionDep, from_version: FromVersion, to_version: ToVersion
) -> ContextDiff:
    """Diff two versions of the global context: added, removed and changed paths."""
    changes = contexts.diff(session=session, project_id=project_id, from_version=from_version, to_version=to_version)
    return _diff(changes, from_version, to_version)


@router.post("/context/versions/{version}/restore", response_model=ContextVersionRead, responses=EDIT_PROBLEMS)
def restore_context(
    project_id: ProjectId, version: Version, session: SessionDep, response: Response, if_match: IfMatch = None
) -> ContextVersionRead:
    """Restore an old version of the global context as a new version (If-Match required)."""
    row = contexts.restore(
        session=session, project_id=project_id, version=version, expected_version=expected_version(if_match)
    )
    return _read(row, response)


# --- A task's context ---------------------------------------------------------------------------------


@router.get("/tasks/{task_id}/context", response_model=ContextVersionRead, responses=problems(404))
def get_task_context(
    project_id: ProjectId, task_id: TaskId, session: ReadSessionDep, response: Response
) -> ContextVersionRead:
    """Get a task's active context (generated when the task starts)."""
    return _read(contexts.get_active(session=session, project_id=project_id, task_id=task_id), response)


@router.put("/tasks/{task_id}/context", response_model=ContextVersionRead, responses=EDIT_PROBLEMS)
def replace_task_context(
    project_id: ProjectId,
    task_id: TaskId,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    content: Annotated[TaskContext, CONTENT_BODY],
    if_match: IfMatch = None,
) -> ContextVersionRead:
    """Replace a task's context with a new version (If-Match required once one exists)."""
    row = contexts.replace(
        session=session,
        project_id=project_id,
        task_id=task_id,
        content=as_sent(content),
        expected_version=expected_version(if_match),
        **authorship(caller),
    )
    return _read(row, response)


@router.patch("/tasks/{task_id}/context", response_model=ContextVersionRead, responses=EDIT_PROBLEMS)
def patch_task_context(
    project_id: ProjectId,
    task_id: TaskId,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    patch: Annotated[dict[str, Any] | list[dict[str, Any]], PATCH_BODY],
    if_match: IfMatch = None,
) -> ContextVersionRead:
    """Patch a task's context into a new version: JSON Merge Patch, or JSON Patch (appends need no If-Match)."""
    return _read(_patch(session, project_id, task_id, patch, if_match, caller), response)


@router.get("/tasks/{task_id}/context/versions", response_model=ContextHistory, responses=problems(404, 422))
def list_task_context_versions(
    project_id: ProjectId,
    task_id: TaskId,
    session: ReadSessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ContextHistory:
    """List a task context's versions, newest first."""
    page = contexts.history(session=session, project_id=project_id, task_id=task_id, limit=limit, cursor=cursor)
    return _history(page)


@router.get("/tasks/{task_id}/context/versions/{version}", response_model=ContextVersionRead, responses=problems(404))
def get_task_context_version(
    project_id: ProjectId, task_id: TaskId, version: Version, session: ReadSessionDep, response: Response
) -> ContextVersionRead:
    """Get one version of a task's context."""
    row = contexts.get_version(session=session, project_id=project_id, task_id=task_id, version=version)
    return _read(row, response)


@router.get("/tasks/{task_id}/context/diff", response_model=ContextDiff, responses=problems(404, 422))
def diff_task_context(
    project_id: ProjectId, task_id: TaskId, session: ReadSessionDep, from_version: FromVersion, to_version: ToVersion
) -> ContextDiff:
    """Diff two versions of a task's context."""
    changes = contexts.diff(
        session=session, project_id=project_id, task_id=task_id, from_version=from_version, to_version=to_version
    )
    return _diff(changes, from_version, to_version)


@router.post(
    "/tasks/{task_id}/context/versions/{version}/restore", response_model=ContextVersionRead, responses=EDIT_PROBLEMS
)
def restore_task_context(
    project_id: ProjectId,
    task_id: TaskId,
    version: Version,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ContextVersionRead:
    """Restore an old version of a task's context as a new version (If-Match required)."""
    row = contexts.restore(
        session=session,
        project_id=project_id,
        task_id=task_id,
        version=version,
        expected_version=expected_version(if_match),
    )
    return _read(row, response)
