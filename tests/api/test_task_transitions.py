"""One HTTP test per task transition endpoint: what it does, the event it records, and a refusal that changes nothing."""

import pytest

BASE = "/api/v1/projects/p/tasks"


BRIEF = {"title": "Star Courier", "genre": "platformer-2d", "engine": "godot", "platforms": ["linux"]}
DESIGN = b"# Star Courier\n\nA courier jumps between rooftops.\n"


@pytest.fixture
def tasks(client) -> dict[str, int]:
    """The accepted template plan's first task and one that waits on it, in a project that reviews completions."""
    project = {"id": "p", "name": "Star Courier", "brief": BRIEF, "require_review": True}
    assert client.post("/api/v1/projects", json=project).status_code == 201
    client.post("/api/v1/projects/p/plans")
    plan = client.post("/api/v1/projects/p/plans/1/accept").json()["tasks"]
    first = next(task for task in plan if task["code"] == "T-001")
    second = next(task for task in plan if task["dependencies"] == ["T-001"])
    return {"first": first["id"], "second": second["id"]}


def hand_in_the_design(client, task_id: int) -> None:
    response = client.post(
        "/api/v1/projects/p/artifacts/files",
        params={"task_id": task_id, "path": "docs/game-design.md"},
        files={"file": ("game-design.md", DESIGN)},
    )
    assert response.status_code == 201, response.text


def post(client, task_id: int | str, action: str, body: dict | None = None, status: int = 200) -> dict:
    response = client.post(f"{BASE}/{task_id}/{action}", json=body)
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def head(client) -> int:
    return client.get("/api/v1/projects/p/events", params={"limit": 1}).json()["head"]


def events_after(client, seq: int) -> list[str]:
    return [event["type"] for event in client.get("/api/v1/projects/p/events", params={"after": seq}).json()["items"]]


def refused_unchanged(client, task_id: int, action: str, body: dict | None, says: str) -> None:
    before, seq = client.get(f"{BASE}/{task_id}").json(), head(client)
    problem = post(client, task_id, action, body, status=409)
    assert says in problem["detail"], problem
    assert client.get(f"{BASE}/{task_id}").json() == before
    assert events_after(client, seq) == []


def test_claim_next_claims_the_ready_task_and_answers_204_when_none_is(client, tasks):
    seq = head(client)
    claimed = client.post(f"{BASE}/next/claim", json={"agent_id": "a1"})
    assert claimed.status_code == 200
    assert (claimed.json()["id"], claimed.json()["claimed_by"]) == (tasks["first"], "a1")
    assert "task.claimed" in events_after(client, seq)
    handed_out = [tasks["first"]]
    while (next_one := client.post(f"{BASE}/next/claim", json={"agent_id": "a2"})).status_code == 200:
        handed_out.append(next_one.json()["id"])
        assert len(handed_out) < 50
    assert next_one.status_code == 204  # nothing ready is left: the rest wait on claimed tasks
    assert tasks["second"] not in handed_out
    assert len(handed_out) == len(set(handed_out))


def test_claim_holds_the_task_for_one_agent(client, tasks):
    seq = head(client)
    assert post(client, tasks["first"], "claim", {"agent_id": "a1"})["claimed_by"] == "a1"
    assert "task.claimed" in events_after(client, seq)
    refused_unchanged(client, tasks["first"], "claim", {"agent_id": "a2"}, "claimed by a1")


def test_release_gives_the_claim_back_only_for_its_holder(client, tasks):
    post(client, tasks["first"], "claim", {"agent_id": "a1"})
    refused_unchanged(client, tasks["first"], "release", {"agent_id": "a2"}, "not claimed by a2")
    seq = head(client)
    released = post(client, tasks["first"], "release", {"agent_id": "a1"})
    assert (released["status"], released["claimed_by"]) == ("pending", None)
    assert "task.released" in events_after(client, seq)


def test_start_moves_a_ready_task_in_progress_and_not_one_that_waits(client, tasks):
    refused_unchanged(client, tasks["second"], "start", None, "waits on T-001")
    seq = head(client)
    started = post(client, tasks["first"], "start")
    assert started["status"] == "in_progress"
    assert started["started_at"] is not None
    assert "task.started" in events_after(client, seq)


def test_block_and_unblock(client, tasks):
    post(client, tasks["first"], "start")
    seq = head(client)
    blocked = post(client, tasks["first"], "block", {"reason": "the engine crashes on export"})
    assert (blocked["status"], blocked["blocked_reason"]) == ("blocked", "the engine crashes on export")
    assert "task.blocked" in events_after(client, seq)
    refused_unchanged(client, tasks["first"], "block", {"reason": "again"}, "blocked")
    seq = head(client)
    unblocked = post(client, tasks["first"], "unblock", {"reason": "fixed upstream"})
    assert unblocked["status"] == "pending"
    assert "task.unblocked" in events_after(client, seq)
    refused_unchanged(client, tasks["first"], "unblock", None, "pending")


def test_complete_sends_the_task_to_review_and_approve_finishes_it(client, tasks):
    refused_unchanged(client, tasks["first"], "complete", {"summary": "done"}, "pending")
    post(client, tasks["first"], "start")
    hand_in_the_design(client, tasks["first"])
    seq = head(client)
    reviewed = post(client, tasks["first"], "complete", {"summary": "the jump feels right"})
    assert (reviewed["status"], reviewed["summary"]) == ("review", "the jump feels right")
    assert "task.submitted" in events_after(client, seq)
    refused_unchanged(client, tasks["second"], "approve", None, "pending")
    seq = head(client)
    approved = post(client, tasks["first"], "approve")
    assert approved["status"] == "done"
    assert "task.completed" in events_after(client, seq)
    assert client.post(f"{BASE}/next/claim", json={"agent_id": "a1"}).json()["id"] == tasks["second"]


def test_reopen_brings_a_finished_task_back(client, tasks):
    refused_unchanged(client, tasks["first"], "reopen", None, "pending")
    post(client, tasks["first"], "start")
    hand_in_the_design(client, tasks["first"])
    post(client, tasks["first"], "complete", {"summary": "first pass"})
    post(client, tasks["first"], "approve")
    seq = head(client)
    reopened = post(client, tasks["first"], "reopen", {"reason": "the jump is too floaty"})
    assert reopened["status"] == "pending"
    assert "task.reopened" in events_after(client, seq)


def test_cancel_stops_a_task_and_frees_what_waits_on_it(client, tasks):
    seq = head(client)
    cancelled = post(client, tasks["first"], "cancel", {"reason": "out of scope"})
    assert cancelled["status"] == "cancelled"
    assert "out of scope" in cancelled["closed_reason"]
    assert "task.cancelled" in events_after(client, seq)
    refused_unchanged(client, tasks["first"], "cancel", None, "cancelled")
    assert client.post(f"{BASE}/next/claim", json={"agent_id": "a1"}).json()["id"] == tasks["second"]


BODIES = {"block": {"reason": "x"}, "complete": {"summary": "x"}}
TRANSITIONS = ["claim", "release", "start", "block", "unblock", "complete", "approve", "reopen", "cancel"]


def test_a_transition_on_a_missing_task_is_404(client, tasks):
    for action in TRANSITIONS:
        response = client.post(f"{BASE}/999999/{action}", json=BODIES.get(action))
        assert response.status_code == 404, (action, response.text)
