"""Helpers for tests that plan with an LLM (the fixtures `fake_llm` and `llm_client` are in conftest.py)."""

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gateway.app.config import Settings
from tests.fake_llm import FakeLLM
from tests.llm_answers import BRIEF

API_KEY = "sk-test-do-not-leak-4f1c2e"


def llm_settings(database_url: str, tmp_path: Path, fake: FakeLLM, **overrides: Any) -> Settings:
    """Settings of a gateway whose default planner is an LLM served by the fake."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "log_format": "json",
        "planner": "llm",
        "llm_provider": "openai-compatible",
        "llm_base_url": fake.base_url,
        "llm_model": "fake-planner-7b",
        "llm_api_key": API_KEY,
        "llm_max_attempts": 3,
        "job_poll_interval_s": 0.05,
        "job_lease_s": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


def create_project(client: TestClient, project_id: str = "lantern", brief: Any = BRIEF) -> str:
    body = {"id": project_id, "name": "Hollow Lantern", "brief": brief.model_dump(exclude_none=True)}
    response = client.post("/api/v1/projects", json=body)
    assert response.status_code == 201, response.text
    return project_id


def wait_for_job(
    client: TestClient, job_id: str, *, until: tuple[str, ...] = ("done", "failed", "cancelled"), timeout: float = 30.0
) -> dict[str, Any]:
    """Poll the job until its status is one of `until`."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.05)
