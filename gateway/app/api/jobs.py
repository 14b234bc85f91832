"""/api/v1/jobs and /api/v1/projects/{id}/jobs: follow, list and cancel slow AI work."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.app.api.deps import DEFAULT_LIMIT, Limit, ReadSessionDep, SessionDep, TimeCursor
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.schemas.jobs import JobPage, JobRead, JobStatus
from gateway.app.services import jobs

router = APIRouter(tags=["jobs"], route_class=DocumentedRoute)
JobId = Annotated[str, Path(description="The job's id", max_length=64)]


@router.get("/jobs/{job_id}", response_model=JobRead, responses=problems(404))
def get_job(job_id: JobId, session: ReadSessionDep) -> JobRead:
    """Get a job: its status, attempt, progress, and the version it wrote or why it failed."""
    return JobRead.model_validate(jobs.view(jobs.get(session=session, job_id=job_id)))


@router.get("/projects/{project_id}/jobs", response_model=JobPage, responses=problems(404, 422))
def list_jobs(
    project_id: ProjectId,
    session: ReadSessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: TimeCursor = None,
    status: Annotated[JobStatus | None, Query(description="Only jobs with this status")] = None,
) -> JobPage:
    """List a project's jobs, newest first."""
    page = jobs.list_for_project(session=session, project_id=project_id, limit=limit, status=status, cursor=cursor)
    return JobPage(items=[JobRead.model_validate(jobs.view(job)) for job in page.items], next_cursor=page.next_cursor)


@router.post("/jobs/{job_id}/cancel", response_model=JobRead, responses=problems(404))
def cancel_job(job_id: JobId, session: SessionDep) -> JobRead:
    """Cancel a job: a queued one at once, a running one within seconds; nothing it drafted is written.

    Cancelling a finished job changes nothing (repeating it is harmless).
    """
    return JobRead.model_validate(jobs.view(jobs.cancel(session=session, job_id=job_id)))
