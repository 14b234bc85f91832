"""/api/v1/projects/{project_id}/tasks"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gateway.app.api.deps import (
    DEFAULT_LIMIT,
    CallerDep,
    Cursor,
    DbDep,
    Limit,
    ReadSessionDep,
    SessionDep,
    acting_agent,
)
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.schemas.common import API_INT_MAX
from gateway.app.schemas.tasks import (
    BlockRequest,
    ClaimRequest,
    CompleteRequest,
    NoteRequest,
    ReleaseRequest,
    StartRequest,
    TaskBriefing,
    TaskCreate,
    TaskPage,
    TaskRead,
    TaskUpdate,
)
from gateway.app.services import briefing, task_execution, tasks

router = APIRouter(prefix="/projects/{project_id}/tasks", tags=["tasks"], route_class=DocumentedRoute)
TaskId = Annotated[int, Path(description="The task's id", ge=1, le=API_INT_MAX)]


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
    plan_id: Annotated[
        int | None, Query(ge=1, le=API_INT_MAX, description="Only tasks of the plan version with this id")
    ] = None,
    plan_version: Annotated[
        int | None, Query(ge=1, le=API_INT_MAX, description="Only tasks of this plan version (by number)")
    ] = None,
    all_plans: Annotated[bool, Query(description="Tasks of every plan version, not only the accepted one")] = False,
) -> TaskPage:
    """List a project's tasks in creation order, one page at a time: by default the accepted plan's tasks.

    Tasks added outside any plan are listed with them; other versions' tasks only when asked for (`plan_version`,
    `plan_id` or `all_plans`).
    """
    page = tasks.list_(
        session=session,
        project_id=project_id,
        limit=limit,
        cursor=cursor,
        status=status,
        plan_id=plan_id,
        plan_version=plan_version,
        all_plans=all_plans,
    )
    return TaskPage(items=[TaskRead.model_validate(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/{task_id}", response_model=TaskRead, responses=problems(404))
def get_task(project_id: ProjectId, task_id: TaskId, session: ReadSessionDep) -> TaskRead:
    """Get one of a project's tasks."""
    return TaskRead.model_validate(tasks.get(session=session, project_id=project_id, task_id=task_id))


@router.get("/{task_id}/briefing", response_model=TaskBriefing, responses=problems(404))
def get_task_briefing(project_id: ProjectId, task_id: TaskId, session: ReadSessionDep) -> TaskBriefing:
    """Get everything needed to do a task: its dependencies' results, its context, the suggested MCP tools."""
    task = tasks.get(session=session, project_id=project_id, task_id=task_id)
    return TaskBriefing(**briefing.briefing(session, project_id=project_id, task=task))


@router.patch("/{task_id}", response_model=TaskRead, responses=problems(404, 409, 413, 422))
def update_task(project_id: ProjectId, task_id: TaskId, data: TaskUpdate, session: SessionDep) -> TaskRead:
    """Change a task's title, description or priority."""
    return TaskRead.model_validate(tasks.update(session=session, project_id=project_id, task_id=task_id, data=data))


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404, 409))
def delete_task(project_id: ProjectId, task_id: TaskId, session: SessionDep) -> None:
    """Delete a task; its artifacts stay with the project."""
    tasks.delete_(session=session, project_id=project_id, task_id=task_id)


# --- Work on a task (claims, leases and transitions) ------------------------------------------------------

TRANSITION_PROBLEMS = problems(404, 409, 410, 422)


@router.post(
    "/next/claim", response_model=TaskRead, responses={204: {"description": "No task is ready"}, **TRANSITION_PROBLEMS}
)
def claim_next_task(
    project_id: ProjectId, session: SessionDep, db: DbDep, caller: CallerDep, data: ClaimRequest | None = None
) -> TaskRead | Response:
    """Claim the next ready task: highest priority, then lowest idx, dependencies done (204 when none is ready).

    An agent token claims for its agent; `agent_id`, when given, must be that agent. With `start`, the task is
    started in the same transaction (what an agent usually wants).
    """
    data = data or ClaimRequest()
    agent = acting_agent(db, caller, data.agent_id) or caller.name
    task = task_execution.claim_next(
        session=session,
        project_id=project_id,
        agent_id=agent,
        lease_seconds=data.lease_seconds,
        start=data.start,
    )
    if task is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return TaskRead.model_validate(task)


@router.post("/{task_id}/claim", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def claim_task(
    project_id: ProjectId,
    task_id: TaskId,
    session: SessionDep,
    db: DbDep,
    caller: CallerDep,
    data: ClaimRequest | None = None,
) -> TaskRead:
    """Claim a ready task for an agent, or renew the agent's claim (a lease); with `start`, start it too."""
    data = data or ClaimRequest()
    task = task_execution.claim(
        session=session,
        project_id=project_id,
        task_id=task_id,
        agent_id=acting_agent(db, caller, data.agent_id) or caller.name,
        lease_seconds=data.lease_seconds,
        start=data.start,
    )
    return TaskRead.model_validate(task)


@router.post("/{task_id}/release", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def release_task(
    project_id: ProjectId,
    task_id: TaskId,
    session: SessionDep,
    db: DbDep,
    caller: CallerDep,
    data: ReleaseRequest | None = None,
) -> TaskRead:
    """Give a claim back (only its holder can); a started task returns to pending."""
    agent = acting_agent(db, caller, (data or ReleaseRequest()).agent_id) or caller.name
    task = task_execution.release(session=session, project_id=project_id, task_id=task_id, agent_id=agent)
    return TaskRead.model_validate(task)


@router.post("/{task_id}/start", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def start_task(
    project_id: ProjectId,
    task_id: TaskId,
    session: SessionDep,
    db: DbDep,
    caller: CallerDep,
    data: StartRequest | None = None,
) -> TaskRead:
    """Start a ready task: in_progress, and its context is generated (a claimed one only by its holder)."""
    data = data or StartRequest()
    task = task_execution.start(
        session=session,
        project_id=project_id,
        task_id=task_id,
        agent_id=acting_agent(db, caller, data.agent_id),
        lease_seconds=data.lease_seconds,
    )
    return TaskRead.model_validate(task)


@router.post("/{task_id}/block", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def block_task(
    project_id: ProjectId, task_id: TaskId, data: BlockRequest, session: SessionDep, db: DbDep, caller: CallerDep
) -> TaskRead:
    """Report a blocker; the claim is released until someone unblocks the task."""
    agent = acting_agent(db, caller, data.agent_id)
    task = task_execution.block(
        session=session, project_id=project_id, task_id=task_id, reason=data.reason, agent_id=agent
    )
    return TaskRead.model_validate(task)


@router.post("/{task_id}/unblock", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def unblock_task(
    project_id: ProjectId, task_id: TaskId, session: SessionDep, data: NoteRequest | None = None
) -> TaskRead:
    """Unblock a task: it is pending again, ready to be claimed."""
    note = data.reason if data else None
    return TaskRead.model_validate(
        task_execution.unblock(session=session, project_id=project_id, task_id=task_id, note=note)
    )


@router.post("/{task_id}/complete", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def complete_task(
    project_id: ProjectId, task_id: TaskId, data: CompleteRequest, session: SessionDep, db: DbDep, caller: CallerDep
) -> TaskRead:
    """Complete a task with a summary: done, or review when the project asks for one.

    Refused (409, `deliverables-missing`) until each required deliverable has a valid artifact at the path the
    plan names (the problem's `missing` lists each one by path, with why: `not_handed_in` or `invalid`); a
    claimed task only by the agent holding the claim.
    """
    agent = acting_agent(db, caller, data.agent_id)
    task = task_execution.complete(
        session=session, project_id=project_id, task_id=task_id, summary=data.summary, agent_id=agent
    )
    return TaskRead.model_validate(task)


@router.post("/{task_id}/approve", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def approve_task(project_id: ProjectId, task_id: TaskId, session: SessionDep) -> TaskRead:
    """Approve a task waiting in review: it is done."""
    return TaskRead.model_validate(task_execution.approve(session=session, project_id=project_id, task_id=task_id))


@router.post("/{task_id}/reopen", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def reopen_task(
    project_id: ProjectId, task_id: TaskId, session: SessionDep, data: NoteRequest | None = None
) -> TaskRead:
    """Reopen a done, reviewed or cancelled task: pending again, and the project is no longer completed."""
    reason = data.reason if data else None
    return TaskRead.model_validate(
        task_execution.reopen(session=session, project_id=project_id, task_id=task_id, reason=reason)
    )


@router.post("/{task_id}/cancel", response_model=TaskRead, responses=TRANSITION_PROBLEMS)
def cancel_task(
    project_id: ProjectId, task_id: TaskId, session: SessionDep, data: NoteRequest | None = None
) -> TaskRead:
    """Cancel a task that is not done; it no longer holds up the tasks that depend on it."""
    reason = data.reason if data else None
    return TaskRead.model_validate(
        task_execution.cancel(session=session, project_id=project_id, task_id=task_id, reason=reason)
    )
