"""gateway/app/services/jobs.py and planning.py: leases, reaping, planning with nothing held, stale bases."""

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager, JobDB, TaskPlanDB, utc_now
from gateway.app.planner import Feedback, GameBrief, PlanDraft, PlanningRequest, get_planner
from gateway.app.planner.base import Drafted, Provenance
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import jobs, planning, plans, projects
from gateway.app.worker import JobWorker


def _project(db: DatabaseManager, project_id: str = "p1") -> str:
    with db.get_session() as session:
        projects.create(
            session=session, data=ProjectCreate(id=project_id, name=project_id, brief=GameBrief(genre="puzzle"))
        )
    return project_id


def _submit(db: DatabaseManager, project_id: str, *, max_attempts: int = 1, kind: str = "propose") -> str:
    with db.get_session() as session:
        job = jobs.submit(
            session,
            project_id=project_id,
            kind=kind,
            request={"planner": "slow"},
            base_version=None,
            actor="user",
            max_attempts=max_attempts,
        )
        session.commit()
        return job.id


def _expire(db: DatabaseManager, job_id: str) -> None:
    with db.get_session() as session:
        job = session.get(JobDB, job_id)
        job.lease_expires_at = utc_now() - timedelta(seconds=1)
        session.add(job)
        session.commit()


def test_one_queued_job_goes_to_exactly_one_of_many_racing_workers(db: DatabaseManager):
    project = _project(db)
    job_id = _submit(db, project)
    claims: list[Any] = []
    start = threading.Barrier(6)

    def claim(name: str) -> None:
        start.wait()
        with db.get_session() as session:
            claims.append(jobs.claim_next(session=session, worker=name, lease_seconds=30))

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [c for c in claims if c is not None]
    assert len(won) == 1
    assert won[0].id == job_id
    assert won[0].attempt == 1


def test_a_silent_workers_job_is_requeued_while_attempts_remain_then_failed(db: DatabaseManager):
    job_id = _submit(db, _project(db), max_attempts=2)
    for attempt in (1, 2):
        with db.get_session() as session:
            claimed = jobs.claim_next(session=session, worker=f"w{attempt}", lease_seconds=30)
        assert claimed.attempt == attempt
        _expire(db, job_id)
        with db.get_session() as session:
            reaped = jobs.reap(session=session, timeout_seconds=3600)
        assert [j.id for j in reaped] == [job_id]
    with db.read_session() as session:
        job = session.get(JobDB, job_id)
    assert job.status == "failed"
    assert job.error
    assert "Interrupted" in job.error["detail"]
    with db.read_session() as session:
        assert jobs.has_work(session=session) is False


def test_a_job_running_far_past_its_timeout_is_failed_even_with_a_live_lease(db: DatabaseManager):
    _submit(db, _project(db))
    with db.get_session() as session:
        jobs.claim_next(session=session, worker="w", lease_seconds=3600)
    with db.get_session() as session:
        reaped = jobs.reap(session=session, timeout_seconds=0)
    assert [j.status for j in reaped] == ["failed"]
    assert "Timed out" in jobs.view(reaped[0])["error"]["detail"]


def test_a_lease_renewal_reports_cancel_requests_and_lost_jobs(db: DatabaseManager):
    job_id = _submit(db, _project(db))
    with db.get_session() as session:
        jobs.claim_next(session=session, worker="w", lease_seconds=30)
    with db.get_session() as session:
        assert jobs.renew(session=session, job_id=job_id, worker="w", lease_seconds=30) == "ok"
        assert jobs.renew(session=session, job_id=job_id, worker="other", lease_seconds=30) == "lost"
    with db.get_session() as session:
        assert jobs.cancel(session=session, job_id=job_id).cancel_requested is True
    with db.get_session() as session:
        assert jobs.renew(session=session, job_id=job_id, worker="w", lease_seconds=30) == "cancel"
    with db.get_session() as session, pytest.raises(jobs.JobLost):
        jobs.holds(session, job_id=job_id, worker="w")


def test_a_stopping_worker_gives_its_job_back_at_once(db: DatabaseManager, tmp_path):
    project = _project(db)
    job_id = _submit(db, project, max_attempts=2)
    started = threading.Event()

    class Hanging:
        name = "slow"

        async def draft(self, request: PlanningRequest, *, progress: Any = None) -> Drafted:
            started.set()
            await asyncio.sleep(60)
            raise AssertionError("never reached")

    settings = Settings(database_url=db.database_url, data_dir=tmp_path, job_lease_s=30, job_poll_interval_s=0.05)
    worker = JobWorker(db, settings, planners=lambda kind: Hanging())

    async def run() -> None:
        async with worker.running():
            while not started.is_set():
                await asyncio.sleep(0.05)

    asyncio.run(run())
    with db.read_session() as session:
        job = session.get(JobDB, job_id)
    assert job.status == "queued"
    assert job.attempt == 1
    assert job.lease_owner is None


class WritesWhilePlanning:
    """A planner that, while it plans, writes to the database through another connection: with a lock held
    by the request that called it, that write would wait for the lock (and this call would never end)."""

    name = "template"

    def __init__(self, db: DatabaseManager, project_id: str) -> None:
        self.db = db
        self.project_id = project_id

    def propose(self, request: PlanningRequest) -> PlanDraft:
        def write() -> None:
            with self.db.get_session() as session:
                project = projects.lock(session=session, project_id=self.project_id)
                project.description = "written while the planner ran"
                session.add(project)
                session.commit()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=20)
        assert not writer.is_alive(), "the planner ran while a lock was held"
        return get_planner("template").propose(request)


def test_the_planner_runs_with_no_transaction_or_lock_held(db: DatabaseManager, monkeypatch):
    project = _project(db)
    monkeypatch.setattr(plans, "get_planner", lambda kind: WritesWhilePlanning(db, project))
    with db.get_session() as session:
        plan = plans.propose(session=session, project_id=project)
        assert plan.version == 1
        assert projects.get(session=session, project_id=project).description == "written while the planner ran"


def test_a_revision_whose_base_was_decided_meanwhile_is_stale(db: DatabaseManager):
    project = _project(db)
    with db.get_session() as session:
        plans.propose(session=session, project_id=project)
        inputs = plans.planning_inputs(session=session, project_id=project, version=1, feedback=Feedback(text="x"))
        plans.accept(session=session, project_id=project, version=1)
    drafted = Drafted(inputs.request.previous, Provenance(planner="llm"))
    with db.get_session() as session, pytest.raises(plans.StaleInputs, match="was proposed"):
        plans.store_draft(session, inputs=inputs, drafted=drafted, created_by="ai", actor="ai")
    assert planning.job_failure(plans.StaleInputs(1, "proposed", "accepted"))["type"] == "conflict"
    with db.read_session() as session:
        assert len(session.exec(select(TaskPlanDB).where(TaskPlanDB.project_id == project)).all()) == 1


def test_failures_are_described_without_internals():
    assert planning.job_failure(RuntimeError("boom at 0x7f"))["detail"].endswith("see the logs.")


def test_a_wake_from_a_request_thread_ends_the_workers_wait_at_once(db: DatabaseManager, tmp_path):
    """Sync endpoints queue jobs from worker threads: their wake-up must reach the worker's loop at once, not at
    the loop's next timer (an asyncio.Event set from another thread does not wake a sleeping loop)."""
    settings = Settings(database_url=str(db.engine.url), data_dir=tmp_path, job_poll_interval_s=60)
    worker = JobWorker(db, settings)
    looked: list[float] = []

    async def run_once() -> bool:
        looked.append(time.monotonic())
        return False  # no work: the worker waits for a wake-up or the poll interval

    worker.run_once = run_once  # type: ignore[method-assign]  # count the looks for work, without a database

    async def run() -> None:
        async with worker.running():
            while not looked:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the worker now waits for a wake-up
            threading.Timer(0.3, worker.wake).start()  # called while the loop sleeps in its selector
            await asyncio.sleep(2)  # the loop's only timer: nothing else wakes it before

    asyncio.run(run())
    assert len(looked) == 2
    assert looked[1] - looked[0] < 1
