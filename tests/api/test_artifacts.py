"""/api/v1/projects/{id}/artifacts through the app."""

import pytest


@pytest.fixture
def task_id(client):
    client.post("/api/v1/projects", json={"id": "p", "name": "P"})
    client.post("/api/v1/projects", json={"id": "other", "name": "Other"})
    return client.post("/api/v1/projects/p/tasks", json={"title": "Player"}).json()["id"]


def test_register_read_update_delete(client, task_id):
    body = {"name": "player.gd", "path": "scripts/player.gd", "mime_type": "text/x-gdscript", "task_id": task_id}
    response = client.post("/api/v1/projects/p/artifacts", json=body | {"category": "code", "size_bytes": 12})
    assert response.status_code == 201
    artifact = response.json()
    assert artifact["validation_status"] == "pending"
    assert (artifact["task_id"], artifact["category"], artifact["size_bytes"]) == (task_id, "code", 12)
    assert client.get(response.headers["location"]).json() == artifact

    patched = client.patch(f"/api/v1/projects/p/artifacts/{artifact['id']}", json={"category": "document"}).json()
    assert patched["category"] == "document"
    assert client.delete(f"/api/v1/projects/p/artifacts/{artifact['id']}").status_code == 204
    assert client.get(f"/api/v1/projects/p/artifacts/{artifact['id']}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a", "path": "../outside"},
        {"name": "a", "path": "/etc/passwd"},
        {"name": "a", "path": "dir/../../x"},
        {"name": "a", "path": "C:\\windows"},
        {"name": "../a", "path": "a"},
        {"name": "a", "path": "."},
        {"name": "a", "path": "a", "category": "weird"},
        {"name": "a", "path": "a", "mime_type": "not a type"},
        {"name": "a", "path": "a", "size_bytes": -1},
    ],
)
def test_bad_metadata_is_refused(client, task_id, body):
    response = client.post("/api/v1/projects/p/artifacts", json=body)
    assert response.status_code == 422
    assert client.get("/api/v1/projects/p/artifacts").json()["items"] == []


def test_an_artifact_cannot_point_at_another_projects_task(client, task_id):
    theirs = client.post("/api/v1/projects/other/tasks", json={"title": "Theirs"}).json()["id"]
    response = client.post("/api/v1/projects/p/artifacts", json={"name": "a", "path": "a", "task_id": theirs})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "task_id"]
    assert client.get("/api/v1/projects/p/artifacts").json()["items"] == []


def test_list_filters(client, task_id):
    client.post("/api/v1/projects/p/artifacts", json={"name": "a.png", "path": "a.png", "category": "asset"})
    client.post(
        "/api/v1/projects/p/artifacts", json={"name": "b.gd", "path": "b.gd", "category": "code", "task_id": task_id}
    )
    listed = lambda query: [a["name"] for a in client.get(f"/api/v1/projects/p/artifacts?{query}").json()["items"]]
    assert listed("") == ["a.png", "b.gd"]
    assert listed(f"task_id={task_id}") == ["b.gd"]
    assert listed("category=asset") == ["a.png"]
    assert listed("validation_status=pending") == ["a.png", "b.gd"]
    assert listed("validation_status=valid") == []


def test_deleting_a_task_keeps_its_artifacts_detached(client, task_id):
    artifact = client.post("/api/v1/projects/p/artifacts", json={"name": "a", "path": "a", "task_id": task_id}).json()
    assert client.delete(f"/api/v1/projects/p/tasks/{task_id}").status_code == 204
    assert client.get(f"/api/v1/projects/p/artifacts/{artifact['id']}").json()["task_id"] is None
