"""Planning jobs over REST with an LLM planner served by a scripted OpenAI-compatible server (real HTTP)."""

import json
import time

import pytest
from fastapi.testclient import TestClient

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.main import create_app
from tests.conftest import LocalClient
from tests.fake_llm import Answer, FakeLLM
from tests.llm_answers import valid_answer, with_cycle, with_unknown_tool
from tests.llm_fixtures import API_KEY, create_project, llm_settings, wait_for_job

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _events(client: TestClient, project_id: str = "lantern") -> list[dict]:
    return client.get(f"/api/v1/projects/{project_id}/events", params={"limit": 200}).json()["items"]


def test_an_llm_proposal_is_a_job_that_writes_a_version_with_provenance(llm_client: TestClient, fake_llm: FakeLLM):
    create_project(llm_client)
    fake_llm.queue(Answer(data=with_cycle(valid_answer()), think="hmm"), Answer(data=valid_answer(), fence=True))
    response = llm_client.post("/api/v1/projects/lantern/plans", json={})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "propose"
    assert job["status"] in ("queued", "running")
    done = wait_for_job(llm_client, job["id"])
    assert done["status"] == "done"
    assert done["plan_version"] == 1
    assert done["attempt"] == 1
    plan = llm_client.get("/api/v1/projects/lantern/plans/1").json()
    assert plan["created_by"] == "ai"
    provenance = plan["provenance"]
    assert provenance["planner"] == "llm"
    assert provenance["model"] == "fake-planner-7b"
    assert provenance["attempts"] == 2
    assert provenance["tokens_in"] == 200
    assert provenance["cost_usd"] == 0.0
    assert provenance["prompt_version"] == "planner/1"
    assert provenance["latency_ms"] > 0
    types = [e["type"] for e in _events(llm_client)]
    assert types.index("job.queued") < types.index("job.running") < types.index("job.progress")
    assert types.index("plan.proposed") < types.index("job.done")
    steps = [e["data"]["step"] for e in _events(llm_client) if e["type"] == "job.progress"]
    assert steps == ["drafting", "repairing", "validated", "writing"]
    done_event = next(e for e in _events(llm_client) if e["type"] == "job.done")
    assert done_event["data"]["provenance"]["attempts"] == 2
    listed = llm_client.get("/api/v1/projects/lantern/jobs").json()["items"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_free_text_feedback_is_a_revision_job_edits_alone_are_applied_at_once(
    llm_client: TestClient, fake_llm: FakeLLM
):
    create_project(llm_client)
    fake_llm.queue(Answer(data=valid_answer()))
    wait_for_job(llm_client, llm_client.post("/api/v1/projects/lantern/plans").json()["id"])
    v1 = llm_client.get("/api/v1/projects/lantern/plans/1").json()

    edits = llm_client.post(
        "/api/v1/projects/lantern/plans/1/revisions",
        json={"edits": [{"op": "edit", "code": "T-001", "changes": {"priority": 5}}]},
    )
    assert edits.status_code == 201, edits.text  # no AI needed
    assert edits.json()["provenance"]["planner"] == "template"

    revised = valid_answer()
    dropped = [t["code"] for t in revised["tasks"] if "boss-fights" in t.get("features", [])]
    revised["tasks"] = [t for t in revised["tasks"] if t["code"] not in dropped]
    revised["tasks"].append(
        dict(revised["tasks"][-1], code="T-900", title="Level editor scene (level_editor.tscn)", dependencies=[])
    )
    revised["feedback"] = [
        {"point": "Drop boss fights", "handled": f"removed {', '.join(dropped)}"},
        {"point": "add a level editor", "handled": "added the level editor task"},
    ]
    revised["notes"].append("Boss fights dropped; the brief's feature is left out at the user's request.")
    fake_llm.queue(Answer(data=revised))
    response = llm_client.post(
        "/api/v1/projects/lantern/plans/1/revisions", json={"text": "Drop boss fights, add a level editor"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["base_version"] == 1
    done = wait_for_job(llm_client, response.json()["id"])
    assert done["status"] == "done", done
    v3 = llm_client.get(f"/api/v1/projects/lantern/plans/{done['plan_version']}").json()
    assert v3["based_on_version"] == 1
    assert v3["feedback"]["text"] == "Drop boss fights, add a level editor"
    assert any(note.startswith("Feedback “Drop boss fights”") for note in v3["details"]["notes"])
    diff = llm_client.get("/api/v1/projects/lantern/plans/diff", params={"from": 1, "to": 3}).json()
    assert sorted(t["code"] for t in diff["removed"]) == sorted(dropped)
    added = [t["code"] for t in diff["added"]]
    assert len(added) == 1
    assert int(added[0][2:]) > max(int(t["code"][2:]) for t in v1["tasks"])
    kept = {t["code"] for t in v1["tasks"]} - set(dropped)
    assert kept <= {t["code"] for t in v3["tasks"]}
    # the model saw the feedback and the plan it revises
    sent = json.dumps(fake_llm.requests[-1])
    assert "Drop boss fights, add a level editor" in sent
    assert v1["tasks"][0]["code"] in sent


def test_a_model_that_keeps_breaking_rules_fails_the_job_and_writes_nothing(llm_client: TestClient, fake_llm: FakeLLM):
    create_project(llm_client)
    fake_llm.default = Answer(data=with_unknown_tool(valid_answer()))
    job = llm_client.post("/api/v1/projects/lantern/plans", json={"planner": "llm"}).json()
    failed = wait_for_job(llm_client, job["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "planning-failed"
    assert [p["type"] for p in failed["error"]["problems"]] == ["tool_unknown"]
    assert failed["error"]["provenance"]["attempts"] == 3
    assert llm_client.get("/api/v1/projects/lantern/plans").json()["items"] == []
    assert any(e["type"] == "job.failed" for e in _events(llm_client))


def test_the_api_key_appears_in_no_response_event_or_log(llm_client: TestClient, fake_llm: FakeLLM, capsys):
    create_project(llm_client)
    fake_llm.default = Answer(status=401, error="bad credentials", echo_auth=True)
    job = llm_client.post("/api/v1/projects/lantern/plans").json()
    failed = wait_for_job(llm_client, job["id"])
    assert failed["status"] == "failed"
    assert "model service failed" in failed["error"]["detail"]
    assert fake_llm.headers
    assert fake_llm.headers[0]["authorization"] == f"Bearer {API_KEY}"
    everything = json.dumps(failed) + json.dumps(_events(llm_client))
    everything += llm_client.get("/openapi.json").text + llm_client.get(f"/api/v1/jobs/{job['id']}").text
    captured = capsys.readouterr()
    assert API_KEY not in everything + captured.out + captured.err


def test_a_running_job_can_be_cancelled_and_writes_nothing(llm_client: TestClient, fake_llm: FakeLLM):
    create_project(llm_client)
    fake_llm.queue(Answer(data=valid_answer(), delay=30))
    job = llm_client.post("/api/v1/projects/lantern/plans").json()
    assert fake_llm.received.wait(20)
    assert llm_client.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "running"
    cancelled = llm_client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_requested"] is True
    final = wait_for_job(llm_client, job["id"], timeout=15)
    assert final["status"] == "cancelled"
    assert llm_client.get("/api/v1/projects/lantern/plans").json()["items"] == []
    again = llm_client.post(f"/api/v1/jobs/{job['id']}/cancel").json()
    assert again["status"] == "cancelled"  # repeating it is harmless


def test_a_queued_job_is_cancelled_at_once(database_url: str, tmp_path, fake_llm: FakeLLM, db: DatabaseManager):
    settings = llm_settings(database_url, tmp_path, fake_llm, jobs_enabled=False)  # no worker: it stays queued
    with LocalClient(create_app(settings, db=db)) as client:
        create_project(client)
        job = client.post("/api/v1/projects/lantern/plans").json()
        assert job["status"] == "queued"
        cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel").json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["finished_at"]
        assert client.get("/api/v1/projects/lantern/jobs", params={"status": "cancelled"}).json()["items"]
        assert client.get("/api/v1/projects/lantern/jobs", params={"status": "queued"}).json()["items"] == []


def test_a_job_that_outlives_its_timeout_fails(database_url: str, tmp_path, fake_llm: FakeLLM, db: DatabaseManager):
    settings = llm_settings(database_url, tmp_path, fake_llm, job_timeout_s=1.0)
    fake_llm.queue(Answer(data=valid_answer(), delay=20))
    with LocalClient(create_app(settings, db=db)) as client:
        create_project(client)
        job = client.post("/api/v1/projects/lantern/plans").json()
        failed = wait_for_job(client, job["id"], timeout=20)
        assert failed["status"] == "failed"
        assert failed["error"]["type"] == "timeout"
        assert client.get("/api/v1/projects/lantern/plans").json()["items"] == []


def test_the_template_planner_stays_synchronous_and_an_unconfigured_llm_is_refused(client: TestClient):
    create_project(client)
    assert client.post("/api/v1/projects/lantern/plans").status_code == 201
    refused = client.post("/api/v1/projects/lantern/plans", json={"planner": "llm"})
    assert refused.status_code == 422
    assert "GATEWAY_LLM_MODEL" in refused.json()["detail"]
    edit = {"op": "edit", "code": "T-001", "changes": {"priority": 5}}
    text_only = client.post("/api/v1/projects/lantern/plans/1/revisions", json={"text": "More bosses", "edits": [edit]})
    assert text_only.status_code == 201
    assert text_only.json()["provenance"]["planner"] == "template"


def test_unknown_jobs_and_projects_are_404s(client: TestClient):
    assert client.get("/api/v1/jobs/nope").status_code == 404
    assert client.post("/api/v1/jobs/nope/cancel").status_code == 404
    assert client.get("/api/v1/projects/nope/jobs").status_code == 404
    create_project(client)
    assert client.get("/api/v1/projects/lantern/jobs", params={"cursor": "bad"}).status_code == 422


def test_jobs_are_paged_newest_first(database_url: str, tmp_path, fake_llm: FakeLLM, db: DatabaseManager):
    settings = llm_settings(database_url, tmp_path, fake_llm, jobs_enabled=False)
    with LocalClient(create_app(settings, db=db)) as client:
        create_project(client)
        ids = []
        for _ in range(3):
            ids.append(client.post("/api/v1/projects/lantern/plans").json()["id"])
            time.sleep(0.01)
        first = client.get("/api/v1/projects/lantern/jobs", params={"limit": 2}).json()
        second = client.get("/api/v1/projects/lantern/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert [j["id"] for j in first["items"] + second["items"]] == list(reversed(ids))
        assert second["next_cursor"] is None


def test_deleting_a_project_deletes_its_jobs(database_url: str, tmp_path, fake_llm: FakeLLM, db: DatabaseManager):
    settings = llm_settings(database_url, tmp_path, fake_llm, jobs_enabled=False)
    with LocalClient(create_app(settings, db=db)) as client:
        create_project(client)
        job = client.post("/api/v1/projects/lantern/plans").json()
        assert client.delete("/api/v1/projects/lantern").status_code == 204
        assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404


def test_settings_reject_unknown_planners():
    with pytest.raises(ValueError, match="template"):
        Settings(planner="oracle")
