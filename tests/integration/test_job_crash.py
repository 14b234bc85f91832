"""A gateway process killed while its LLM job waits on a slow model: after a restart the job is retried (or
failed, visibly) and no version is ever half-written."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlmodel import select

from gateway.app.db import DatabaseManager, JobDB, TaskDB, TaskPlanDB
from tests.fake_llm import Answer, FakeLLM
from tests.integration.test_two_processes import free_port
from tests.llm_answers import BRIEF, valid_answer


class Process:
    """`python -m gateway serve` with an LLM planner pointed at the fake model server."""

    def __init__(self, *, database_url: str, fake: FakeLLM, log: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_PLANNER": "llm",
            "GATEWAY_LLM_PROVIDER": "openai-compatible",
            "GATEWAY_LLM_BASE_URL": fake.base_url,
            "GATEWAY_LLM_MODEL": "slow-model",
            "GATEWAY_JOB_LEASE_S": "1",
            "GATEWAY_JOB_POLL_INTERVAL_S": "0.1",
            "GATEWAY_JOB_MAX_ATTEMPTS": "2",
        }
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--port", str(self.port)],
                cwd=log.parent,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.log = log
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return
            except OSError:
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.1)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _job(db: DatabaseManager, job_id: str) -> JobDB:
    with db.read_session() as session:
        job = session.get(JobDB, job_id)
        assert job is not None
        return job


def test_a_job_killed_mid_answer_is_retried_after_a_restart_and_writes_one_whole_version(
    database_url: str, db: DatabaseManager, fake_llm: FakeLLM, tmp_path: Path
):
    fake_llm.queue(Answer(data=valid_answer(), delay=120))  # the first attempt hangs: the process dies in it
    first = Process(database_url=database_url, fake=fake_llm, log=tmp_path / "gateway.log")
    try:
        project = {"id": "lantern", "name": "Hollow Lantern", "brief": BRIEF.model_dump(exclude_none=True)}
        first.call("POST", "/api/v1/projects", project)
        job_id = first.call("POST", "/api/v1/projects/lantern/plans", {})["id"]
        assert fake_llm.received.wait(60), "the model was never asked"
        assert _job(db, job_id).status == "running"
        first.kill()
    finally:
        first.stop()
    left = _job(db, job_id)
    assert left.status == "running"
    assert left.attempt == 1

    fake_llm.default = Answer(data=valid_answer())
    second = Process(database_url=database_url, fake=fake_llm, log=tmp_path / "gateway.log")
    try:
        deadline = time.monotonic() + 60
        while (job := _job(db, job_id)).status not in ("done", "failed"):
            assert time.monotonic() < deadline, f"job still {job.status}"
            time.sleep(0.2)
        events = second.call("GET", "/api/v1/projects/lantern/events?limit=200")["items"]
    finally:
        second.stop()
    assert job.status == "done"
    assert job.attempt == 2
    assert job.plan_version == 1
    requeued = [e for e in events if e["type"] == "job.queued" and e["data"].get("retry")]
    assert len(requeued) == 1
    assert "stopped" in requeued[0]["data"]["reason"]
    with db.read_session() as session:
        versions = session.exec(select(TaskPlanDB).where(TaskPlanDB.project_id == "lantern")).all()
        assert [v.version for v in versions] == [1]
        tasks = session.exec(select(TaskDB).where(TaskDB.plan_id == versions[0].id)).all()
        assert len(tasks) == len(valid_answer()["tasks"])  # the whole version, never a part of it
