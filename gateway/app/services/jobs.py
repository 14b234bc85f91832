"""Jobs: slow AI work (an LLM proposal or revision, a memory update) as rows a worker claims with a lease.

A job is queued in the transaction that asked for it, claimed by one worker at a time (its lease is renewed
while it runs), and ends `done`, `failed` or `cancelled`, each announced as an event on the project's stream.
A worker that dies leaves its lease to expire: the job is then queued again while it has attempts left, or
failed with the reason. The version a job writes is written in the same transaction that marks it done, so a
crash never leaves a half-written version nor a done job without its version.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any, overload

from sqlalchemy import or_
from sqlmodel import Session, col, select

from gateway.app import outbox
from gateway.app.db import JobDB, utc_now
from gateway.app.errors import NotFound
from gateway.app.logging import get_logger
from gateway.app.services import projects
from gateway.app.services.common import Page

log = get_logger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
KINDS = ("propose", "revise", "memory")


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: None) -> None: ...
def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored as UTC).
    return value.replace(tzinfo=utc_now().tzinfo) if value is not None and value.tzinfo is None else value


def view(job: JobDB) -> dict[str, Any]:
    """A job as the API shows it (the Job resource)."""
    return {
        "id": job.id,
        "project_id": job.project_id,
        "kind": job.kind,
        "status": job.status,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "base_version": job.base_version,
        "plan_version": job.plan_version,
        "error": job.error,
        "progress": job.progress,
        "cancel_requested": job.cancel_requested,
        "created_at": _aware(job.created_at),
        "updated_at": _aware(job.updated_at),
        "started_at": _aware(job.started_at),
        "finished_at": _aware(job.finished_at),
    }


def request_of(job: JobDB) -> dict[str, Any]:
    """What the job was asked to do."""
    return job.request or {}


def _record(session: Session, job: JobDB, type_: str, actor: str = "system", **data: Any) -> None:
    outbox.record(
        session,
        project_id=job.project_id,
        type=type_,
        data={"job_id": job.id, "kind": job.kind, "status": job.status, "attempt": job.attempt, **data},
        actor=actor,
    )


def submit(
    session: Session,
    *,
    project_id: str,
    kind: str,
    request: dict[str, Any],
    base_version: int | None,
    actor: str,
    max_attempts: int,
) -> JobDB:
    """Queue a job inside the caller's transaction (the caller commits); announced as `job.queued`."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    projects.lock(session=session, project_id=project_id)
    job = JobDB(
        id=uuid.uuid4().hex,
        project_id=project_id,
        kind=kind,
        status=QUEUED,
        max_attempts=max_attempts,
        base_version=base_version,
        request=request,
        actor=actor,
    )
    session.add(job)
    session.flush()
    _record(session, job, "job.queued", actor, base_version=base_version)
    return job


def get(*, session: Session, job_id: str) -> JobDB:
    """One job, or NotFound."""
    job = session.get(JobDB, job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id!r}.", resource="job", id=job_id)
    return job


def list_for_project(
    *, session: Session, project_id: str, limit: int, status: str | None = None, cursor: str | None = None
) -> Page[JobDB]:
    """A project's jobs, newest first."""
    from gateway.app.schemas.common import TIME_CURSOR, decode_cursor, encode_cursor

    projects.get(session=session, project_id=project_id)
    statement = select(JobDB).where(JobDB.project_id == project_id)
    if status is not None:
        statement = statement.where(JobDB.status == status)
    if cursor is not None:
        when, job_id = decode_cursor(cursor, TIME_CURSOR, datetime, str)
        statement = statement.where(
            or_(col(JobDB.created_at) < when, (col(JobDB.created_at) == when) & (col(JobDB.id) < job_id))
        )
    rows = list(
        session.exec(statement.order_by(col(JobDB.created_at).desc(), col(JobDB.id).desc()).limit(limit + 1)).all()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(_aware(last.created_at), last.id)
    return Page(items=rows, next_cursor=next_cursor)


def _lock(session: Session, job_id: str) -> JobDB:
    session.expire_all()
    job = session.exec(select(JobDB).where(JobDB.id == job_id).with_for_update()).first()
    if job is None:
        raise NotFound(f"No job with id {job_id!r}.", resource="job", id=job_id)
    return job


def _end(session: Session, job: JobDB, status: str, *, error: dict[str, Any] | None = None) -> None:
    now = utc_now()
    job.status = status
    job.error = error
    job.lease_owner = None
    job.lease_expires_at = None
    job.finished_at = now
    job.updated_at = now
    session.add(job)


def cancel(*, session: Session, job_id: str, actor: str = "user") -> JobDB:
    """Cancel a job: a queued one at once; a running one as soon as its worker notices (within its lease).

    Cancelling a finished job changes nothing (repeating a cancel is harmless).
    """
    job = _lock(session, job_id)
    if job.status in FINISHED:
        return job
    projects.lock(session=session, project_id=job.project_id)
    if job.status == QUEUED:
        _end(session, job, CANCELLED, error={"detail": f"Cancelled by {actor} before it started."})
        _record(session, job, "job.cancelled", actor)
    elif not job.cancel_requested:
        job.cancel_requested = True
        job.updated_at = utc_now()
        session.add(job)
        _record(session, job, "job.progress", actor, step="cancelling", message=f"cancel requested by {actor}")
    session.commit()
    log.info("job cancel", job_id=job_id, status=job.status)
    return job


def claim_next(*, session: Session, worker: str, lease_seconds: float) -> JobDB | None:
    """Take the oldest queued job (one worker gets it), start its next attempt; None when nothing is queued."""
    statement = select(JobDB).where(JobDB.status == QUEUED).order_by(col(JobDB.created_at), col(JobDB.id)).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    job = session.exec(statement).first()
    if job is None:
        session.rollback()
        return None
    projects.lock(session=session, project_id=job.project_id)
    now = utc_now()
    job.status = RUNNING
    job.attempt += 1
    job.lease_owner = worker
    job.lease_expires_at = now + timedelta(seconds=lease_seconds)
    job.started_at = now
    job.updated_at = now
    session.add(job)
    _record(session, job, "job.running", worker=worker)
    session.commit()
    return job


def renew(*, session: Session, job_id: str, worker: str, lease_seconds: float) -> str:
    """Extend the worker's lease; returns 'ok', 'cancel' (a cancel was asked) or 'lost' (no longer its job)."""
    job = session.get(JobDB, job_id)
    if job is None or job.status != RUNNING or job.lease_owner != worker:
        session.rollback()
        return "lost"
    job.lease_expires_at = utc_now() + timedelta(seconds=lease_seconds)
    session.add(job)
    verdict = "cancel" if job.cancel_requested else "ok"
    session.commit()
    return verdict


def holds(session: Session, *, job_id: str, worker: str) -> JobDB:
    """The job, locked, if this worker still runs it and no cancel was asked; else a JobLost to stop writing."""
    job = _lock(session, job_id)
    if job.status != RUNNING or job.lease_owner != worker:
        raise JobLost(f"job {job_id} is {job.status} and no longer held by {worker}")
    if job.cancel_requested:
        raise JobLost(f"job {job_id} was cancelled")
    return job


class JobLost(Exception):
    """The worker no longer holds the job (cancelled, or its lease went to another worker): write nothing."""


def report(*, session: Session, job_id: str, worker: str, data: dict[str, Any]) -> None:
    """Record a step of a running job (`job.progress`), if the worker still holds it."""
    job = session.get(JobDB, job_id)
    if job is None or job.status != RUNNING or job.lease_owner != worker:
        session.rollback()
        return
    projects.lock(session=session, project_id=job.project_id)
    job.progress = dict(data)
    job.updated_at = utc_now()
    session.add(job)
    _record(session, job, "job.progress", **data)
    session.commit()


def mark_done(session: Session, job: JobDB, *, plan_version: int | None = None, **data: Any) -> None:
    """Finish a job inside the transaction that stored its result (the caller commits)."""
    job.plan_version = plan_version
    _end(session, job, DONE)
    _record(session, job, "job.done", plan_version=plan_version, **data)


def finish_unsuccessfully(
    *, session: Session, job_id: str, worker: str | None, status: str, error: dict[str, Any]
) -> JobDB | None:
    """Fail or cancel a job this worker runs (worker None: whoever runs it); None if it already ended."""
    job = _lock(session, job_id)
    if job.status in FINISHED or (worker is not None and job.lease_owner != worker):
        session.rollback()
        return None
    projects.lock(session=session, project_id=job.project_id)
    _end(session, job, status, error=error)
    _record(session, job, f"job.{status}", error=error)
    session.commit()
    log.info("job ended", job_id=job_id, status=status, detail=error.get("detail"))
    return job


def _give_back(session: Session, job: JobDB, *, why: str) -> None:
    """A running job whose worker stopped: queued again while it has attempts left, else failed (visibly)."""
    projects.lock(session=session, project_id=job.project_id)
    if job.cancel_requested:
        _end(session, job, CANCELLED, error={"type": "cancelled", "detail": f"Cancelled ({why})."})
        _record(session, job, "job.cancelled")
    elif job.attempt < job.max_attempts:
        job.status = QUEUED
        job.lease_owner = None
        job.lease_expires_at = None
        job.updated_at = utc_now()
        job.progress = {"step": "requeued", "message": f"{why} during attempt {job.attempt}; retrying"}
        session.add(job)
        _record(session, job, "job.queued", retry=True, reason=f"{why} during attempt {job.attempt}")
    else:
        error = {
            "type": "interrupted",
            "detail": f"Interrupted: {why} during attempt {job.attempt} of {job.max_attempts}; nothing was written.",
        }
        _end(session, job, FAILED, error=error)
        _record(session, job, "job.failed", error=error)


def abandon(*, session: Session, job_id: str, worker: str) -> None:
    """The worker stops (the process shuts down) while running a job: give it back now, not at lease expiry."""
    job = _lock(session, job_id)
    if job.status != RUNNING or job.lease_owner != worker:
        session.rollback()
        return
    _give_back(session, job, why="the gateway stopped")
    session.commit()
    log.info("job given back", job_id=job_id, status=job.status)


def has_work(*, session: Session) -> bool:
    """Whether a job is queued or running (a read: an idle worker takes no write lock to find out)."""
    return session.exec(select(JobDB.id).where(col(JobDB.status).in_((QUEUED, RUNNING))).limit(1)).first() is not None


def reap(*, session: Session, timeout_seconds: float) -> list[JobDB]:
    """Jobs whose worker went silent (lease expired) or that ran far past the timeout: queued again or failed."""
    now = utc_now()
    stale = session.exec(
        select(JobDB).where(JobDB.status == RUNNING, col(JobDB.lease_expires_at) < now).with_for_update()
    ).all()
    overdue = session.exec(
        select(JobDB)
        .where(JobDB.status == RUNNING, col(JobDB.started_at) < now - timedelta(seconds=timeout_seconds))
        .with_for_update()
    ).all()
    changed: dict[str, JobDB] = {}
    for job in overdue:
        projects.lock(session=session, project_id=job.project_id)
        error = {"type": "timeout", "detail": f"Timed out: still running after {timeout_seconds:g} s."}
        _end(session, job, FAILED, error=error)
        _record(session, job, "job.failed", error=error)
        changed[job.id] = job
    for job in stale:
        if job.id not in changed:
            _give_back(session, job, why=f"its worker {job.lease_owner} stopped answering")
            changed[job.id] = job
    session.commit()
    for job in changed.values():
        log.warning("job reaped", job_id=job.id, status=job.status, attempt=job.attempt)
    return list(changed.values())
