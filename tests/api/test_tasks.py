"""/api/v1/projects/{id}/tasks through the app."""

import pytest


@pytest.fixture
def project(client):
    client.post("/api/v1/projects", json={"id": "p", "name": "P"})
    client.post("/api/v1/projects", json={"id": "other", "name": "Other"})
    return "p"


def test_create_read_update_delete(client, project):
    response = client.post(f"/api/v1/projects/{project}/tasks", json={"title": "Jump", "priority": 3})
    assert response.status_code == 201
    task = response.json()
    assert (task["title"], task["status"], task["priority"], task["plan_id"], task["idx"]) == (
        "Jump",
        "pending",
        3,
        None,
        0,
    )
    assert response.headers["location"] == f"/api/v1/projects/p/tasks/{task['id']}"
    assert client.get(response.headers["location"]).json() == task

    updated = client.patch(f"/api/v1/projects/p/tasks/{task['id']}", json={"description": "coyote time"}).json()
    assert updated["description"] == "coyote time"
    assert updated["title"] == "Jump"

    assert client.delete(f"/api/v1/projects/p/tasks/{task['id']}").status_code == 204
    assert client.get(f"/api/v1/projects/p/tasks/{task['id']}").status_code == 404


def test_tasks_of_another_project_are_not_found(client, project):
    task = client.post("/api/v1/projects/other/tasks", json={"title": "Theirs"}).json()
    assert client.get(f"/api/v1/projects/p/tasks/{task['id']}").status_code == 404
    assert client.patch(f"/api/v1/projects/p/tasks/{task['id']}", json={"title": "Mine"}).status_code == 404
    assert client.delete(f"/api/v1/projects/p/tasks/{task['id']}").status_code == 404
    assert client.get(f"/api/v1/projects/other/tasks/{task['id']}").json()["title"] == "Theirs"


def test_unknown_project_is_404(client):
    assert client.post("/api/v1/projects/nope/tasks", json={"title": "T"}).status_code == 404
    assert client.get("/api/v1/projects/nope/tasks").status_code == 404
    assert client.get("/api/v1/projects/nope/tasks/1").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "T", "priority": 0},
        {"title": "T", "priority": 6},
        {"title": "T", "status": "done"},
        {"title": "T", "priority": "5"},  # a string is no integer (issue 11: values were coerced)
        {"title": "T", "priority": True},
        {"title": "T", "priority": 4.5},
    ],
)
def test_invalid_tasks_are_refused(client, project, body):
    assert client.post("/api/v1/projects/p/tasks", json=body).status_code == 422
    assert client.get("/api/v1/projects/p/tasks").json()["items"] == []


def test_patch_cannot_null_required_fields(client, project):
    task = client.post("/api/v1/projects/p/tasks", json={"title": "T"}).json()
    response = client.patch(f"/api/v1/projects/p/tasks/{task['id']}", json={"title": None, "priority": None})
    assert response.status_code == 422
    assert sorted(e["loc"][-1] for e in response.json()["errors"]) == ["priority", "title"]


def test_list_pages_and_filters(client, project):
    ids = [client.post("/api/v1/projects/p/tasks", json={"title": f"T{n}"}).json()["id"] for n in range(5)]
    client.post("/api/v1/projects/other/tasks", json={"title": "Elsewhere"})
    first = client.get("/api/v1/projects/p/tasks?limit=2").json()
    second = client.get(f"/api/v1/projects/p/tasks?limit=2&cursor={first['next_cursor']}").json()
    third = client.get(f"/api/v1/projects/p/tasks?limit=2&cursor={second['next_cursor']}").json()
    assert [t["id"] for t in first["items"] + second["items"] + third["items"]] == ids
    assert third["next_cursor"] is None
    assert len(client.get("/api/v1/projects/p/tasks?status=pending").json()["items"]) == 5
    assert client.get("/api/v1/projects/p/tasks?status=done").json()["items"] == []
    assert client.get("/api/v1/projects/p/tasks?plan_id=1").json()["items"] == []
