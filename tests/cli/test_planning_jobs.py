"""A proposal answered with a planning job (202 + job): the CLI follows the job until it ends.

The gateway's own planner answers 201 today; this speaks the jobs contract from a small real HTTP server.
"""

import json

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from gateway.cli import app
from tests.conftest import LiveServer

pytestmark = pytest.mark.sqlite_only
PLAN = {"id": 7, "project_id": "p", "version": 2, "status": "proposed", "created_by": "ai", "task_count": 0,
        "summary": "From the job", "details": {}, "tasks": []}  # fmt: skip


def jobs_server(outcome: str) -> FastAPI:
    polls = {"n": 0}
    fake = FastAPI()

    def job(status: str) -> dict:
        return {"id": "j1", "project_id": "p", "kind": "propose", "status": status, "attempt": 1, "max_attempts": 3,
                "base_version": None, "plan_version": 2 if status == "done" else None,
                "error": "The model answered nonsense twice" if status == "failed" else None}  # fmt: skip

    @fake.post("/api/v1/projects/p/plans")
    def propose() -> JSONResponse:
        return JSONResponse(job("queued"), status_code=202, headers={"Location": "/api/v1/jobs/j1"})

    @fake.get("/api/v1/jobs/j1")
    def poll() -> dict:
        polls["n"] += 1
        return job("running" if polls["n"] < 3 else outcome)

    @fake.get("/api/v1/projects/p/plans/2")
    def version() -> dict:
        return PLAN

    return fake


@pytest.mark.parametrize("outcome", ["done", "failed"])
def test_propose_waits_for_the_job(outcome, monkeypatch):
    from gateway.cli import _client

    monkeypatch.setattr(_client.Gateway, "POLL_S", 0.05)
    with LiveServer(jobs_server(outcome)) as server:
        result = CliRunner().invoke(app, ["plans", "propose", "-p", "p", "--url", server.url, "--json"])
    if outcome == "done":
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["summary"] == "From the job"
    else:
        assert result.exit_code == 1
        assert "The model answered nonsense twice" in result.stderr
