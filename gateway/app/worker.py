"""The job worker: runs queued jobs in the app's process (started by its lifespan), one at a time.

It claims a job with a lease, renews the lease while the job runs (and notices a cancel request then),
enforces the job timeout, and records the outcome. Jobs left `running` by a process that died are found by
any worker once their lease expires: queued again while they have attempts left, failed otherwise.
"""

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager, JobDB
from gateway.app.errors import NotFound
from gateway.app.logging import get_logger
from gateway.app.planner.base import Planner, PlanningFailed, get_planner

log = get_logger(__name__)


def default_planner(settings: Settings) -> Callable[[str], Planner]:
    """Planners built from the settings (an LLM planner gets the GATEWAY_LLM_* configuration)."""

    def make(kind: str) -> Planner:
        if kind == "llm":
            from gateway.app.planner.llm import LLMConfig

            return get_planner("llm", config=LLMConfig.from_settings(settings))
        return get_planner(kind)

    return make


class JobWorker:
    """Claims and runs jobs until stopped."""

    def __init__(
        self,
        db: DatabaseManager,
        settings: Settings,
        *,
        planners: Callable[[str], Planner] | None = None,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.planners = planners or default_planner(settings)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Look for work now instead of at the next poll (a request just queued a job).

        Callable from any thread (sync endpoints run in worker threads): an asyncio.Event is not thread-safe,
        so it is set on the worker's own loop.
        """
        if self._wake is None or self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the worker stopped and its loop closed: nothing to wake
            self._loop.call_soon_threadsafe(self._wake.set)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["JobWorker"]:
        """Run the worker in the background for the duration of the block."""
        task = asyncio.create_task(self.run_forever(), name=f"job-worker {self.name}")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_forever(self) -> None:
        """Reap, claim, run; sleep until woken or the poll interval when idle."""
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        log.info("job worker started", worker=self.name)
        while True:
            ran = False
            try:
                ran = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database hiccuped: try again at the next poll
                log.exception("job worker iteration failed", worker=self.name)
            if not ran:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.settings.job_poll_interval_s)
                self._wake.clear()

    async def run_once(self) -> bool:
        """Requeue or fail abandoned jobs, then run the oldest queued one; False when there was none."""
        from gateway.app.services import jobs

        grace = self.settings.job_timeout_s + self.settings.job_lease_s

        def reap_and_claim() -> JobDB | None:
            with self.db.read_session() as session:
                if not jobs.has_work(session=session):
                    return None
            with self.db.get_session() as session:
                jobs.reap(session=session, timeout_seconds=grace)
            with self.db.get_session() as session:  # one use case per session
                return jobs.claim_next(session=session, worker=self.name, lease_seconds=self.settings.job_lease_s)

        job = await anyio.to_thread.run_sync(reap_and_claim)
        if job is None:
            return False
        await self.execute(job)
        return True

    async def execute(self, job: JobDB) -> None:
        """Run one claimed job to its end: done, failed (with the reason), cancelled or timed out."""
        from gateway.app.services import jobs, planning

        log.info("job started", job_id=job.id, kind=job.kind, attempt=job.attempt, worker=self.name)
        work = asyncio.create_task(self._perform(job))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.job_timeout_s
        beat = max(0.05, self.settings.job_lease_s / 3)
        ending: tuple[str, dict[str, Any]] | None = None
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=max(0.0, min(beat, deadline - loop.time())))
                if done:
                    break
                if loop.time() >= deadline:
                    timeout = self.settings.job_timeout_s
                    ending = (
                        "failed",
                        {"type": "timeout", "detail": f"Timed out after {timeout:g} s; nothing was written."},
                    )
                    break
                verdict = await anyio.to_thread.run_sync(self._renew, job.id)
                if verdict == "cancel":
                    ending = (
                        "cancelled",
                        {"type": "cancelled", "detail": "Cancelled while running; nothing was written."},
                    )
                    break
                if verdict == "lost":
                    ending = ("lost", {})
                    break
        except asyncio.CancelledError:  # the process is stopping: give the job back instead of leaving it running
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
            await anyio.to_thread.run_sync(self._abandon, job.id)
            raise
        if ending is not None:
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
            if ending[0] != "lost":  # a job that finished meanwhile stays done (finishing it again changes nothing)
                await anyio.to_thread.run_sync(self._finish, job.id, ending[0], ending[1])
            return
        exc = work.exception()
        if exc is None:
            log.info("job done", job_id=job.id, plan_version=work.result())
            return
        if isinstance(exc, jobs.JobLost):
            # Cancelled (or taken over) just before writing: record the cancel if that is what happened.
            await anyio.to_thread.run_sync(self._finish_if_cancel_requested, job.id)
            return
        if isinstance(exc, NotFound):
            log.info("job's project is gone", job_id=job.id)
            return
        if not isinstance(exc, planning.plans.StaleInputs | PlanningFailed):
            log.error("job failed unexpectedly", job_id=job.id, error=repr(exc)[:300])
        await anyio.to_thread.run_sync(self._finish, job.id, "failed", planning.job_failure(exc))

    async def _perform(self, job: JobDB) -> Any:
        from gateway.app.services import jobs, planning

        async def progress(data: dict[str, Any]) -> None:
            await anyio.to_thread.run_sync(self._report, job.id, data)

        if job.kind in ("propose", "revise"):
            # Built in a thread: an LLM planner imports its SDKs on first use, which must not stall the event loop.
            planner = await anyio.to_thread.run_sync(self.planners, jobs.request_of(job).get("planner", "llm"))
            return await planning.run_planning_job(self.db, job, planner=planner, worker=self.name, progress=progress)
        if job.kind == "memory":
            from gateway.app.services import memory

            return await memory.run_memory_job(
                self.db, job, settings=self.settings, worker=self.name, progress=progress
            )
        raise ValueError(f"unknown job kind {job.kind!r}")

    # --- Small transactions (run in worker threads) ---------------------------------------------------

    def _renew(self, job_id: str) -> str:
        from gateway.app.services import jobs

        with self.db.get_session() as session:
            return jobs.renew(session=session, job_id=job_id, worker=self.name, lease_seconds=self.settings.job_lease_s)

    def _report(self, job_id: str, data: dict[str, Any]) -> None:
        from gateway.app.services import jobs

        with self.db.get_session() as session:
            jobs.report(session=session, job_id=job_id, worker=self.name, data=data)

    def _finish(self, job_id: str, status: str, error: dict[str, Any]) -> None:
        from gateway.app.services import jobs

        with self.db.get_session() as session:
            jobs.finish_unsuccessfully(session=session, job_id=job_id, worker=self.name, status=status, error=error)

    def _finish_if_cancel_requested(self, job_id: str) -> None:
        from gateway.app.services import jobs

        with self.db.get_session() as session:
            job = session.get(JobDB, job_id)
            if job is not None and job.cancel_requested and job.status == jobs.RUNNING:
                error = {"type": "cancelled", "detail": "Cancelled while running; nothing was written."}
                jobs.finish_unsuccessfully(
                    session=session, job_id=job_id, worker=None, status=jobs.CANCELLED, error=error
                )

    def _abandon(self, job_id: str) -> None:
        from gateway.app.services import jobs

        with self.db.get_session() as session:
            jobs.abandon(session=session, job_id=job_id, worker=self.name)
