"""Completing a task over REST: each required deliverable needs a valid artifact at the path the plan names."""

import pytest

BRIEF = {"title": "Star Courier", "genre": "platformer-2d", "engine": "godot", "platforms": ["linux"]}
PROJECT_GODOT = b'config_version=5\n\n[application]\n\nconfig/name="Star Courier"\n'
SCENE = b'[gd_scene format=3]\n\n[node name="Main" type="Node2D"]\n'


@pytest.fixture
def plan(client) -> dict[str, dict]:
    """The accepted template plan of a Godot platformer, its tasks by code."""
    client.post("/api/v1/projects", json={"id": "sc", "name": "Star Courier", "brief": BRIEF})
    client.post("/api/v1/projects/sc/plans")
    accepted = client.post("/api/v1/projects/sc/plans/1/accept").json()
    return {task["code"]: task for task in accepted["tasks"]}


def start(client, task: dict) -> None:
    url = f"/api/v1/projects/sc/tasks/{task['id']}"
    assert client.post(f"{url}/claim", json={"agent_id": "a1"}).status_code == 200
    assert client.post(f"{url}/start", json={"agent_id": "a1"}).status_code == 200


def hand_in(client, task: dict, name: str, data: bytes, **params) -> dict:
    response = client.post(
        "/api/v1/projects/sc/artifacts/files", params={"task_id": task["id"], **params}, files={"file": (name, data)}
    )
    assert response.status_code == 201, response.text
    return response.json()


def complete(client, task: dict):
    return client.post(
        f"/api/v1/projects/sc/tasks/{task['id']}/complete", json={"agent_id": "a1", "summary": "written"}
    )


def test_a_document_at_another_path_does_not_satisfy_the_design_doc(client, plan):
    design = plan["T-001"]
    assert [d["name"] for d in design["deliverables"]] == ["docs/game-design.md"]
    start(client, design)
    shopping = hand_in(
        client,
        design,
        "shopping-list.md",
        b"# Shopping list - milk\n",
        category="document",
        path="notes/shopping-list.md",
    )
    assert shopping["validation_status"] == "valid"

    refused = complete(client, design)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("deliverables-missing")
    assert problem["missing"] == [
        {
            "path": "docs/game-design.md",
            "name": "docs/game-design.md",
            "category": "document",
            "reason": "not_handed_in",
        }
    ]
    assert "docs/game-design.md" in problem["detail"]

    # The same file at the plan's path, spelt differently, is the deliverable.
    hand_in(client, design, "game-design.md", b"# Star Courier\n\nA courier leaps.\n", path="docs/./game-design.md")
    done = complete(client, design)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"


def test_an_invalid_hand_in_at_the_path_is_named_as_invalid(client, plan):
    design = plan["T-001"]
    start(client, design)
    blank = hand_in(client, design, "game-design.md", b" \n", path="docs/game-design.md")
    assert blank["validation_status"] == "invalid"
    problem = complete(client, design).json()
    assert problem["missing"] == [
        {
            "path": "docs/game-design.md",
            "name": "docs/game-design.md",
            "category": "document",
            "reason": "invalid",
            "artifact_id": blank["id"],
        }
    ]
    assert f"artifact {blank['id']}" in problem["detail"]


def test_a_scene_does_not_satisfy_project_godot(client, plan):
    setup = plan["T-003"]
    assert [d["name"] for d in setup["deliverables"]] == ["project.godot", "docs/project-conventions.md"]
    start(client, setup)
    scene = hand_in(client, setup, "main.tscn", SCENE, category="code", path="scenes/main.tscn")
    assert scene["validation_status"] == "valid"
    hand_in(client, setup, "project-conventions.md", b"# Conventions\n", path="docs/project-conventions.md")
    refused = complete(client, setup)
    assert refused.status_code == 409
    assert [m["path"] for m in refused.json()["missing"]] == ["project.godot"]
    # A plan that names a file without a folder is satisfied by a file of that name.
    hand_in(client, setup, "project.godot", PROJECT_GODOT)
    assert complete(client, setup).status_code == 200
