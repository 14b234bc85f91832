"""/api/v1/projects/{project_id}/plans: versions, consensus (propose, revise, edit, accept, reject) and diffs."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlmodel import Session

from gateway.app.api.deps import ReadSessionDep, SessionDep, SettingsDep, wake_worker
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.db import JobDB, TaskPlanDB
from gateway.app.planner import Feedback
from gateway.app.schemas.common import API_INT_MAX
from gateway.app.schemas.jobs import JobRead
from gateway.app.schemas.plans import (
    EditRequest,
    PlanDiff,
    PlanList,
    PlanRead,
    PlanSummary,
    ProposeRequest,
    RejectRequest,
    ReviseRequest,
)
from gateway.app.services import jobs, planning, plans

router = APIRouter(prefix="/projects/{project_id}/plans", tags=["plans"], route_class=DocumentedRoute)
Version = Annotated[int, Path(ge=1, le=API_INT_MAX, description="The plan's version number within the project")]
WRITE_PROBLEMS = problems(404, 409, 413, 422)
JOB_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": JobRead,
        "description": "An LLM writes this version: the job to follow (`Location: /api/v1/jobs/{id}`); its "
        "`plan_version` is set when it is done, and job.* events report its progress on the project's stream.",
        "headers": {"Location": {"description": "The job: /api/v1/jobs/{id}", "schema": {"type": "string"}}},
    }
}


def read_plan(session: Session, plan: TaskPlanDB, response: Response | None = None) -> PlanRead:
    """A version with its tasks."""
    if response is not None:
        response.headers["Location"] = f"/api/v1/projects/{plan.project_id}/plans/{plan.version}"
    # Validated once, from the columns as read: no model per task in between.
    return PlanRead.model_validate(plans.full_view(session, plan))


def job_accepted(request: Request, job: JobDB) -> JSONResponse:
    """202 with the job and where to follow it; the worker is woken."""
    wake_worker(request)
    body = JobRead.model_validate(jobs.view(job))
    return JSONResponse(
        jsonable_encoder(body), status_code=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/v1/jobs/{job.id}"}
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanRead,
    responses={**WRITE_PROBLEMS, **JOB_ACCEPTED},
)
def propose_plan(
    project_id: ProjectId,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    data: ProposeRequest | None = None,
) -> PlanRead | JSONResponse:
    """Ask the AI to propose a plan from the project's brief (the next version).

    The template planner answers at once (201, the version). An LLM answers later: 202 with a job
    (`GET /api/v1/jobs/{id}`) that writes the version when it is done. Other open proposals stay open (any of
    them can be accepted); a project in draft moves to consensus.
    """
    planner = (data or ProposeRequest()).planner
    result = planning.request_proposal(session=session, project_id=project_id, planner=planner, settings=settings)
    if isinstance(result, JobDB):
        return job_accepted(request, result)
    return read_plan(session, result, response)


@router.get("", response_model=PlanList, responses=problems(404))
def list_plans(project_id: ProjectId, session: ReadSessionDep) -> PlanList:
    """List every version of the plan, newest first, with who made each and why."""
    versions = plans.list_versions(session=session, project_id=project_id)
    counts = plans.task_counts(session=session, plan_ids=[plan.id for plan in versions])  # type: ignore[misc]  # ids of stored rows are set (SQLModel types them Optional)
    numbers = {plan.id: plan.version for plan in versions}
    return PlanList(
        items=[
            PlanSummary(
                **plans.summary_view(
                    plan,
                    task_count=counts.get(plan.id, 0),  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
                    based_on_version=numbers.get(plan.based_on_id),
                )
            )
            for plan in versions
        ]
    )


@router.get("/active", response_model=PlanRead, responses=problems(404))
def get_active_plan(project_id: ProjectId, session: ReadSessionDep) -> PlanRead:
    """Get the project's accepted plan with its tasks."""
    return read_plan(session, plans.active(session=session, project_id=project_id))


@router.get("/diff", response_model=PlanDiff, responses=problems(404, 422))
def diff_plans(
    project_id: ProjectId,
    session: ReadSessionDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=API_INT_MAX, description="The older version")],
    to_version: Annotated[int, Query(alias="to", ge=1, le=API_INT_MAX, description="The newer version")],
) -> PlanDiff:
    """Diff two versions task by task: added, removed, changed fields (old and new values), moved."""
    return PlanDiff(
        **plans.diff(session=session, project_id=project_id, from_version=from_version, to_version=to_version)
    )


@router.get("/{version}", response_model=PlanRead, responses=problems(404))
def get_plan(project_id: ProjectId, version: Version, session: ReadSessionDep) -> PlanRead:
    """Get one version with its tasks."""
    return read_plan(session, plans.get(session=session, project_id=project_id, version=version))


@router.post(
    "/{version}/revisions",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanRead,
    responses={**WRITE_PROBLEMS, **JOB_ACCEPTED},
)
def revise_plan(
    project_id: ProjectId,
    version: Version,
    data: ReviseRequest,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> PlanRead | JSONResponse:
    """Give feedback on a version; the AI answers with the next version, based on it.

    Structured edits are applied at once (201). Free text goes to the configured planner: an LLM reads it in a
    job (202; the version keeps the codes of the tasks it keeps and its notes say how each point was handled);
    the template planner reads it point by point by its rules (201), and feedback of which nothing can be applied
    is a 422 listing every point: no unchanged copy is stored as a new version.
    """
    feedback = Feedback.model_validate(data.model_dump(exclude_unset=True, exclude={"planner"}))
    result = planning.request_revision(
        session=session,
        project_id=project_id,
        version=version,
        feedback=feedback,
        planner=data.planner,
        settings=settings,
    )
    if isinstance(result, JobDB):
        return job_accepted(request, result)
    return read_plan(session, result, response)


@router.post("/{version}/edits", status_code=status.HTTP_201_CREATED, response_model=PlanRead, responses=WRITE_PROBLEMS)
def edit_plan(
    project_id: ProjectId, version: Version, data: EditRequest, session: SessionDep, response: Response
) -> PlanRead:
    """Submit your own next version: a whole plan, or structured edits of this version."""
    plan = plans.edit(
        session=session, project_id=project_id, version=version, draft=data.plan, edits=data.edits, note=data.note
    )
    return read_plan(session, plan, response)


@router.post("/{version}/accept", response_model=PlanRead, responses=problems(404, 409))
def accept_plan(project_id: ProjectId, version: Version, session: SessionDep) -> PlanRead:
    """Accept a version: it becomes the active plan and the project goes active (repeating it is harmless).

    The previous accepted version and the other open proposals are superseded; tasks keep their progress by
    code, and a task the new version drops is cancelled with the reason (its claim released).
    """
    return read_plan(session, plans.accept(session=session, project_id=project_id, version=version))


@router.post("/{version}/reject", response_model=PlanRead, responses=problems(404, 409, 422))
def reject_plan(project_id: ProjectId, version: Version, data: RejectRequest, session: SessionDep) -> PlanRead:
    """Reject a proposed version with a reason: its status becomes `rejected` (repeating it is harmless)."""
    plan = plans.reject(session=session, project_id=project_id, version=version, reason=data.reason)
    return read_plan(session, plan)
