"""/api/v1/projects/{id}/plans: the consensus workflow as a user drives it."""

import pytest
from sqlmodel import select

from gateway.app.db import EventDB, TaskDB

EDITABLE = {
    "code",
    "idx",
    "title",
    "description",
    "discipline",
    "acceptance_criteria",
    "deliverables",
    "estimates",
    "priority",
    "dependencies",
    "mcp_tools",
}
BRIEF = {
    "title": "Star Courier",
    "pitch": "A courier sprints across a collapsing space station to deliver parcels on time.",
    "genre": "platformer-2d",
    "engine": "godot",
    "platforms": ["windows", "linux"],
    "art_style": "16x16 pixel art",
    "features": ["save-system", "controller-support"],
}


@pytest.fixture
def project(client):
    response = client.post("/api/v1/projects", json={"id": "sc", "name": "Star Courier", "brief": BRIEF})
    assert response.status_code == 201, response.text
    return "sc"


def propose(client, project_id="sc"):
    response = client.post(f"/api/v1/projects/{project_id}/plans")
    assert response.status_code == 201, response.text
    return response.json()


def test_propose_makes_version_1_and_moves_the_project_to_consensus(client, project):
    plan = propose(client)
    assert (plan["version"], plan["status"], plan["created_by"]) == (1, "proposed", "ai")
    assert 12 <= plan["task_count"] == len(plan["tasks"]) <= 40
    assert [t["code"] for t in plan["tasks"]][:3] == ["T-001", "T-002", "T-003"]
    assert [t["idx"] for t in plan["tasks"]] == list(range(len(plan["tasks"])))
    assert {t["discipline"] for t in plan["tasks"]} >= {"design", "programming", "art", "audio", "ui", "qa", "release"}
    assert all(t["status"] == "pending" and t["plan_id"] == plan["id"] for t in plan["tasks"])
    assert not any(tool.startswith("unity") for t in plan["tasks"] for tool in t["mcp_tools"])
    assert client.get("/api/v1/projects/sc").json()["status"] == "consensus"
    assert client.get("/api/v1/projects/sc/plans/1").json() == plan


def test_the_same_brief_gives_the_same_plan(client, project):
    first, second = propose(client), propose(client)
    strip = lambda plan: [
        {k: v for k, v in t.items() if k not in {"id", "plan_id", "created_at", "updated_at"}} for t in plan["tasks"]
    ]
    assert strip(first) == strip(second)


def test_open_proposals_coexist_and_accepting_one_supersedes_the_rest(client, project):
    propose(client)
    propose(client)
    propose(client)
    versions = client.get("/api/v1/projects/sc/plans").json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(3, "proposed"), (2, "proposed"), (1, "proposed")]
    assert client.get("/api/v1/projects/sc/plans/1").json()["decision_reason"] is None
    # any open proposal can be accepted, not only the newest
    accepted = client.post("/api/v1/projects/sc/plans/2/accept")
    assert accepted.status_code == 200, accepted.text
    versions = client.get("/api/v1/projects/sc/plans").json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(3, "superseded"), (2, "accepted"), (1, "superseded")]
    assert versions[0]["decision_reason"] == "Version 2 was accepted instead"


def test_revise_applies_structured_edits_and_keeps_the_free_text(client, project):
    plan = propose(client)
    codes = [t["code"] for t in plan["tasks"]]
    removable = next(
        t["code"] for t in reversed(plan["tasks"]) if not any(t["code"] in o["dependencies"] for o in plan["tasks"])
    )
    new_priority = 1 if plan["tasks"][0]["priority"] == 5 else 5
    feedback = {
        "text": "Make it feel like Celeste.",
        "edits": [
            {"op": "remove", "code": removable},
            {
                "op": "edit",
                "code": codes[0],
                "changes": {"priority": new_priority, "title": "Write the one-page design"},
            },
        ],
    }
    response = client.post("/api/v1/projects/sc/plans/1/revisions", json=feedback)
    assert response.status_code == 201, response.text
    revised = response.json()
    assert (revised["version"], revised["based_on_version"], revised["created_by"]) == (2, 1, "ai")
    assert revised["feedback"]["text"] == "Make it feel like Celeste."
    assert len(revised["feedback"]["edits"]) == 2
    assert removable not in [t["code"] for t in revised["tasks"]]
    first = next(t for t in revised["tasks"] if t["code"] == codes[0])
    assert (first["priority"], first["title"]) == (new_priority, "Write the one-page design")
    assert "Revision: feedback 'Make it feel like Celeste' was not applied: not understood" in " ".join(
        revised["details"]["notes"]
    )

    diff = client.get("/api/v1/projects/sc/plans/diff", params={"from": 1, "to": 2}).json()
    assert [r["code"] for r in diff["removed"]] == [removable]
    changed = {c["code"]: c["fields"] for c in diff["changed"]}
    assert changed[codes[0]]["priority"] == {"old": plan["tasks"][0]["priority"], "new": new_priority}
    assert diff["added"] == []


def test_a_revision_naming_an_unknown_task_changes_nothing(client, project):
    propose(client)
    response = client.post("/api/v1/projects/sc/plans/1/revisions", json={"edits": [{"op": "remove", "code": "T-999"}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["edits", 0]
    assert len(client.get("/api/v1/projects/sc/plans").json()["items"]) == 1


def _whole_plan(plan):
    keep = (
        "code",
        "idx",
        "title",
        "description",
        "discipline",
        "acceptance_criteria",
        "deliverables",
        "estimates",
        "priority",
        "dependencies",
        "mcp_tools",
    )
    return {
        "summary": "My own plan",
        "tasks": [{k: t[k] for k in keep} for t in plan["tasks"]],
        "notes": [],
        "scope": "mvp",
    }


def test_a_user_edit_is_the_next_version_created_by_the_user(client, project):
    plan = propose(client)
    mine = _whole_plan(plan)
    mine["tasks"][0]["title"] = "Design on paper first"
    response = client.post("/api/v1/projects/sc/plans/1/edits", json={"plan": mine, "note": "tweaked"})
    assert response.status_code == 201, response.text
    edited = response.json()
    assert (edited["version"], edited["created_by"], edited["based_on_version"]) == (2, "user", 1)
    assert edited["tasks"][0]["title"] == "Design on paper first"
    patch = client.post(
        "/api/v1/projects/sc/plans/2/edits", json={"edits": [{"op": "move", "code": "T-002", "after": None}]}
    )
    assert patch.status_code in (201, 422), patch.text  # moving before a dependency is refused, never half-applied


@pytest.mark.parametrize(
    ("breakage", "error_type"),
    [
        (lambda tasks: tasks[0]["dependencies"].append(tasks[-1]["code"]), "cycle"),
        (lambda tasks: tasks[1]["dependencies"].append("T-999"), "dependency_unknown"),
        (lambda tasks: tasks[2].update(code=tasks[1]["code"]), "duplicate"),
        (lambda tasks: tasks[3]["mcp_tools"].append("no-such-server.tool"), "tool"),
        (lambda tasks: tasks[4]["mcp_tools"].append("unity"), "engine"),
    ],
)
def test_invalid_user_plans_are_refused_with_the_reason_and_nothing_changes(client, project, breakage, error_type):
    plan = propose(client)
    mine = _whole_plan(plan)
    breakage(mine["tasks"])
    response = client.post("/api/v1/projects/sc/plans/1/edits", json={"plan": mine})
    assert response.status_code == 422, response.text
    assert response.json()["errors"], response.json()
    assert error_type in response.text.lower() or error_type in str(response.json()["errors"]).lower()
    assert [v["version"] for v in client.get("/api/v1/projects/sc/plans").json()["items"]] == [1]


def test_several_problems_are_all_listed(client, project):
    plan = propose(client)
    mine = _whole_plan(plan)
    mine["tasks"][1]["dependencies"].append("T-999")
    mine["tasks"][3]["mcp_tools"].append("nope")
    response = client.post("/api/v1/projects/sc/plans/1/edits", json={"plan": mine})
    assert response.status_code == 422
    assert len(response.json()["errors"]) >= 2


def test_accept_activates_the_plan_and_points_at_the_first_ready_task(client, project, db):
    plan = propose(client)
    response = client.post("/api/v1/projects/sc/plans/1/accept")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    project_now = client.get("/api/v1/projects/sc").json()
    assert (project_now["status"], project_now["active_plan_id"]) == ("active", plan["id"])
    first_ready = min((t for t in plan["tasks"] if not t["dependencies"]), key=lambda t: t["idx"])
    assert project_now["current_task_id"] == first_ready["id"]
    assert client.get("/api/v1/projects/sc/plans/active").json()["version"] == 1
    # repeating it is harmless
    again = client.post("/api/v1/projects/sc/plans/1/accept")
    assert again.status_code == 200
    with db.read_session() as session:
        accepted = session.exec(select(EventDB).where(EventDB.type == "plan.accepted")).all()
    assert len(accepted) == 1
    # the context tells the story
    context = client.get("/api/v1/projects/sc/context").json()
    assert context["content"]["progress"]["plan"]["version"] == 1
    assert context["content"]["decisions"][-1]["what"].startswith("Accepted plan version 1")
    assert context["source"] == "ai-generate"


def test_accepting_a_superseded_or_missing_version_is_refused(client, project):
    propose(client)
    propose(client)
    client.post("/api/v1/projects/sc/plans/2/accept")
    response = client.post("/api/v1/projects/sc/plans/1/accept")
    assert response.status_code == 409
    assert "superseded" in response.json()["detail"]
    assert client.post("/api/v1/projects/sc/plans/9/accept").status_code == 404
    client.post("/api/v1/projects", json={"id": "other", "name": "Other", "brief": BRIEF})
    assert client.post("/api/v1/projects/other/plans/2/accept").status_code == 404
    assert client.get("/api/v1/projects/sc").json()["status"] == "active"


def test_reject_marks_the_version_rejected_with_the_reason_and_nothing_else(client, project):
    propose(client)
    propose(client)
    response = client.post("/api/v1/projects/sc/plans/1/reject", json={"reason": "Too big"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_reason"]) == ("rejected", "Too big")
    assert client.get("/api/v1/projects/sc/plans/2").json()["status"] == "proposed"
    assert client.post("/api/v1/projects/sc/plans/1/accept").status_code == 409
    assert (
        client.post("/api/v1/projects/sc/plans/1/reject", json={"reason": "Again"}).json()["decision_reason"]
        == "Too big"
    )
    assert client.get("/api/v1/projects/sc").json()["status"] == "consensus"
    assert client.post("/api/v1/projects/sc/plans/1/reject", json={"reason": ""}).status_code == 422


def test_the_accepted_plan_cannot_be_rejected_or_edited_in_place(client, project):
    plan = propose(client)
    client.post("/api/v1/projects/sc/plans/1/accept")
    assert client.post("/api/v1/projects/sc/plans/1/reject", json={"reason": "no"}).status_code == 409
    task_id = plan["tasks"][0]["id"]
    assert client.patch(f"/api/v1/projects/sc/tasks/{task_id}", json={"title": "x"}).status_code == 409
    assert client.delete(f"/api/v1/projects/sc/tasks/{task_id}").status_code == 409


def test_a_plan_read_shows_each_task_as_the_task_itself_reads(client, project):
    # The plan reads its tasks as columns, a task read loads the model: the same task, field for field.
    propose(client)
    client.post("/api/v1/projects/sc/plans/1/accept")
    first = client.get("/api/v1/projects/sc/plans/1").json()["tasks"][0]
    client.post(f"/api/v1/projects/sc/tasks/{first['id']}/start", json={"agent_id": "agent-1"})
    plan = client.get("/api/v1/projects/sc/plans/1").json()
    assert plan["tasks"][0]["started_at"] is not None
    assert plan["tasks"][0]["lease_expires_at"] is not None
    for task in plan["tasks"]:
        assert client.get(f"/api/v1/projects/sc/tasks/{task['id']}").json() == task


def test_replanning_carries_progress_by_code(client, project, db):
    plan = propose(client)
    client.post("/api/v1/projects/sc/plans/1/accept")
    first = plan["tasks"][0]
    with db.get_session() as session:  # T-001 finished before the re-plan
        task = session.get(TaskDB, first["id"])
        task.status, task.summary = "done", "Design doc written"
        session.add(task)
        session.commit()
    client.post(
        "/api/v1/projects/sc/plans/1/revisions",
        json={"edits": [{"op": "edit", "code": "T-002", "changes": {"priority": 5}}]},
    )
    accepted = client.post("/api/v1/projects/sc/plans/2/accept").json()
    carried = next(t for t in accepted["tasks"] if t["code"] == first["code"])
    assert (carried["status"], carried["summary"]) == ("done", "Design doc written")
    assert carried["id"] != first["id"]
    versions = client.get("/api/v1/projects/sc/plans").json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(2, "accepted"), (1, "superseded")]
    assert versions[1]["decision_reason"] == "Replaced by version 2"
    context = client.get("/api/v1/projects/sc/context").json()["content"]
    assert context["progress"]["plan"]["version"] == 2
    assert [d["code"] for d in context["progress"]["done"]] == [first["code"]]
    assert context["decisions"][-1]["replaces"]["version"] == 1


def test_replanning_carries_artifacts_of_a_task_not_started_yet(client, project):
    plan = propose(client)
    client.post("/api/v1/projects/sc/plans/1/accept")
    first = plan["tasks"][0]
    uploaded = client.post(
        "/api/v1/projects/sc/artifacts/files",
        params={"task_id": first["id"]},
        files={"file": ("draft.md", b"# draft\n")},
    ).json()
    client.post(
        "/api/v1/projects/sc/plans/1/revisions",
        json={"text": "again", "edits": [{"op": "edit", "code": "T-002", "changes": {"priority": 1}}]},
    )
    accepted = client.post("/api/v1/projects/sc/plans/2/accept").json()
    carried = next(t for t in accepted["tasks"] if t["code"] == first["code"])
    assert carried["status"] == "pending"
    assert client.get(f"/api/v1/projects/sc/artifacts/{uploaded['id']}").json()["task_id"] == carried["id"]


def test_replanning_moves_a_claim_and_the_task_context_with_the_code_and_leaves_the_rest_as_planned(client, project):
    plan = propose(client)
    client.post("/api/v1/projects/sc/plans/1/accept")
    first, second = plan["tasks"][0], plan["tasks"][1]
    claimed = client.post(f"/api/v1/projects/sc/tasks/{first['id']}/claim", json={"agent_id": "agent-1"}).json()
    assert claimed["claimed_by"] == "agent-1"
    note = {"task": {"code": second["code"]}, "notes": ["keep the jump snappy"]}
    put = client.put(f"/api/v1/projects/sc/tasks/{second['id']}/context", json=note)
    assert put.status_code == 200, put.text
    client.post(
        "/api/v1/projects/sc/plans/1/revisions",
        json={"edits": [{"op": "edit", "code": "T-003", "changes": {"priority": 5}}]},
    )
    accepted = client.post("/api/v1/projects/sc/plans/2/accept").json()
    by_code = {t["code"]: t for t in accepted["tasks"]}
    moved = by_code[first["code"]]
    assert (moved["status"], moved["claimed_by"]) == (claimed["status"], "agent-1")
    assert moved["lease_expires_at"] == claimed["lease_expires_at"]
    old = client.get(f"/api/v1/projects/sc/tasks/{first['id']}").json()
    assert (old["claimed_by"], old["lease_expires_at"]) == (None, None)
    assert by_code[second["code"]]["claimed_by"] is None
    context = client.get(f"/api/v1/projects/sc/tasks/{by_code[second['code']]['id']}/context").json()
    assert context["content"]["notes"] == note["notes"]
    assert client.get("/api/v1/projects/sc/plans/2").json() == accepted


def test_plans_have_milestones_and_edits_move_tasks_between_them(client, project):
    plan = propose(client)
    keys = [m["key"] for m in plan["milestones"]]
    assert keys[0] == "prototype"
    assert all(m["title"] for m in plan["milestones"])
    assert all(t["milestone"] in keys for t in plan["tasks"])
    listed = client.get("/api/v1/projects/sc/plans").json()["items"][0]
    assert listed["milestones"] == plan["milestones"]

    task = next(t for t in plan["tasks"] if t["milestone"] == "prototype" and not t["dependencies"])
    response = client.post(
        "/api/v1/projects/sc/plans/1/edits",
        json={
            "edits": [
                {"op": "edit", "code": task["code"], "changes": {"milestone": "alpha"}},
                {"op": "edit_milestone", "key": "beta", "title": "Content complete"},
                {"op": "add_milestone", "milestone": {"key": "demo", "title": "Steam demo"}, "after": "alpha"},
            ]
        },
    )
    assert response.status_code == 201, response.text
    edited = response.json()
    assert next(t for t in edited["tasks"] if t["code"] == task["code"])["milestone"] == "alpha"
    diff = client.get("/api/v1/projects/sc/plans/diff", params={"from": 1, "to": 2}).json()
    changed = {c["code"]: c["fields"] for c in diff["changed"]}
    assert changed[task["code"]]["milestone"] == {"old": "prototype", "new": "alpha"}
    assert [m["key"] for m in diff["milestones"]["added"]] == ["demo"]
    assert diff["milestones"]["changed"] == [
        {"key": "beta", "title": "Content complete", "fields": {"title": {"old": "Beta", "new": "Content complete"}}}
    ]
    assert (diff["milestones"]["removed"], diff["milestones"]["reordered"]) == ([], False)

    bad = client.post(
        "/api/v1/projects/sc/plans/2/edits",
        json={"edits": [{"op": "edit", "code": task["code"], "changes": {"milestone": "gold"}}]},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["type"] == "milestone_unknown"


def test_a_whole_plan_breaking_the_milestone_rules_is_refused(client, project):
    plan = propose(client)
    draft = {
        "summary": "Mine",
        "milestones": [{"key": "one", "title": "One"}, {"key": "two", "title": "Two"}],
        "tasks": [
            {k: v for k, v in t.items() if k in EDITABLE} | {"milestone": "two" if t["idx"] == 0 else "one"}
            for t in plan["tasks"]
        ],
    }
    response = client.post("/api/v1/projects/sc/plans/1/edits", json={"plan": draft})
    assert response.status_code == 422
    assert {e["type"] for e in response.json()["errors"]} == {"milestone_order"}


def test_free_text_feedback_is_applied_or_refused_never_copied(client):
    brief = {
        "title": "Hollow Lantern",
        "genre": "metroidvania",
        "engine": "godot",
        "platforms": ["pc", "switch"],
        "features": ["double jump", "three bosses", "online co-op multiplayer", "save rooms"],
    }
    assert (
        client.post("/api/v1/projects", json={"id": "hl", "name": "Hollow Lantern", "brief": brief}).status_code == 201
    )
    plan = propose(client, "hl")
    refused = client.post("/api/v1/projects/hl/plans/1/revisions", json={"text": "Make it pop. More juice!"})
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["errors"]] == [["text", 0], ["text", 1]]
    assert len(client.get("/api/v1/projects/hl/plans").json()["items"]) == 1, "no copy was stored"

    text = "Drop multiplayer, add a level editor, make bosses a later milestone"
    response = client.post("/api/v1/projects/hl/plans/1/revisions", json={"text": text})
    assert response.status_code == 201, response.text
    revised = response.json()
    assert (revised["version"], revised["created_by"], revised["feedback"]["text"]) == (2, "ai", text)
    notes = [n for n in revised["details"]["notes"] if n.startswith("Revision: feedback")]
    assert len(notes) == 3
    diff = client.get("/api/v1/projects/hl/plans/diff", params={"from": 1, "to": 2}).json()
    assert {t["title"] for t in diff["added"]} >= {"Level editor: design", "Level editor: build", "Level editor: test"}
    assert any(t["title"] == "Host, join and lobby" for t in diff["removed"])
    bosses = next(t for t in plan["tasks"] if t["title"].startswith("Bosses"))
    moved = {c["code"]: c["fields"] for c in diff["changed"]}
    assert moved[bosses["code"]]["milestone"] == {"old": "vertical-slice", "new": "alpha"}
    kept = {t["code"]: t["title"] for t in revised["tasks"]}
    assert all(kept[t["code"]] == t["title"] for t in plan["tasks"] if t["code"] in kept), "codes are kept"


def _accepted_with_a_started_task(client, agent="agent-b"):
    """Version 1 accepted, and an agent holding its first ready task, started."""
    propose(client)
    client.post("/api/v1/projects/sc/plans/1/accept")
    task = client.post("/api/v1/projects/sc/tasks/next/claim", json={"agent_id": agent, "start": True}).json()
    assert task["status"] == "in_progress", task
    return task


def test_a_task_the_accepted_version_drops_is_closed_with_the_reason_never_stranded(client, project, db):
    held = _accepted_with_a_started_task(client)
    client.post(
        "/api/v1/projects/sc/plans/1/revisions", json={"edits": [{"op": "remove", "code": held["code"]}]}
    ).raise_for_status()
    client.post("/api/v1/projects/sc/plans/2/accept").raise_for_status()
    closed = client.get(f"/api/v1/projects/sc/tasks/{held['id']}").json()
    assert (closed["status"], closed["claimed_by"], closed["lease_expires_at"]) == ("cancelled", None, None)
    assert closed["closed_reason"].startswith("Cancelled by re-plan: plan version 2")
    with db.read_session() as session:
        event = session.exec(select(EventDB).where(EventDB.project_id == "sc", EventDB.type == "task.cancelled")).one()
    assert event.data["agent_id"] == "agent-b"
    # the agent's next call tells it why, instead of an unexplained 409
    response = client.post(
        f"/api/v1/projects/sc/tasks/{held['id']}/complete", json={"agent_id": "agent-b", "summary": "done"}
    )
    assert response.status_code == 410, response.text
    assert response.json()["type"].endswith("/task-withdrawn")
    assert "re-plan" in response.json()["detail"]
    assert "released" in response.json()["detail"]
    # and it can go on with the next task
    nxt = client.post("/api/v1/projects/sc/tasks/next/claim", json={"agent_id": "agent-b"})
    assert nxt.status_code == 200
    assert nxt.json()["code"] != held["code"]


def test_the_task_list_shows_the_accepted_plans_tasks_unless_asked_otherwise(client, project):
    first = propose(client)
    client.post("/api/v1/projects/sc/plans/1/accept")
    propose(client)  # an open proposal that is never accepted
    extra = client.post("/api/v1/projects/sc/tasks", json={"title": "Outside any plan"}).json()
    listed = client.get("/api/v1/projects/sc/tasks?status=pending&limit=200").json()["items"]
    assert {t["plan_id"] for t in listed} == {first["id"], None}
    assert len(listed) == first["task_count"] + 1
    assert extra["id"] in {t["id"] for t in listed}
    second = client.get("/api/v1/projects/sc/tasks?plan_version=2&limit=200").json()["items"]
    assert {t["plan_id"] for t in second} == {client.get("/api/v1/projects/sc/plans/2").json()["id"]}
    every = client.get("/api/v1/projects/sc/tasks?all_plans=true&limit=200").json()["items"]
    assert len(every) == 2 * first["task_count"] + 1
    assert client.get("/api/v1/projects/sc/tasks?plan_version=9").status_code == 404


def test_the_diff_moves_only_tasks_whose_relative_order_changed(client, project):
    plan = propose(client)
    codes = [t["code"] for t in plan["tasks"]]
    new_task = {
        "title": "Intro cutscene",
        "description": "A ten-second intro.",
        "discipline": "design",
        "acceptance_criteria": ["It plays once"],
        "estimates": {"story_points": 1, "time_hours": 2},
        "priority": 2,
    }
    client.post(
        "/api/v1/projects/sc/plans/1/revisions",
        json={"edits": [{"op": "add", "task": new_task, "after": codes[0]}]},
    ).raise_for_status()
    diff = client.get("/api/v1/projects/sc/plans/diff?from=1&to=2").json()
    assert len(diff["added"]) == 1
    assert diff["moved"] == []  # every later task shifted by one, none moved
    # T-001 after T-003 (T-002 follows T-001, its dependency): one task out of order explains the new order
    free = [t["code"] for t in plan["tasks"] if not t["dependencies"]][:2]
    client.post(
        "/api/v1/projects/sc/plans/1/revisions", json={"edits": [{"op": "move", "code": free[0], "after": free[1]}]}
    ).raise_for_status()
    moved = client.get("/api/v1/projects/sc/plans/diff?from=1&to=3").json()["moved"]
    assert len(moved) == 1
    assert moved[0]["code"] in free


def test_patching_part_of_the_brief_keeps_the_rest(client, project):
    response = client.patch("/api/v1/projects/sc", json={"brief": {"platforms": ["switch"], "art_style": None}})
    assert response.status_code == 200, response.text
    brief = response.json()["brief"]
    assert brief["platforms"] == ["switch"]
    assert brief["art_style"] is None
    assert (brief["genre"], brief["engine"], brief["pitch"]) == ("platformer-2d", "godot", BRIEF["pitch"])
    assert brief["features"] == BRIEF["features"]
    refused = client.patch("/api/v1/projects/sc", json={"brief": {"scope": "gigantic"}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][:3] == ["body", "brief", "scope"]
    assert client.get("/api/v1/projects/sc").json()["brief"]["platforms"] == ["switch"]
