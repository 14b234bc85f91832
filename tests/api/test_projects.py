"""/api/v1/projects through the app."""

import re

import pytest

PROBLEM = "application/problem+json"


def create(client, **body):
    response = client.post("/api/v1/projects", json={"name": "Star Courier", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_update_delete(client):
    created = create(client, id="star-courier", description="A courier platformer.")
    assert created["id"] == "star-courier"
    assert created["status"] == "draft"
    assert created["created_at"].endswith("Z")
    assert client.get("/api/v1/projects/star-courier").json() == created

    updated = client.patch("/api/v1/projects/star-courier", json={"description": "Now with co-op."})
    assert updated.status_code == 200
    assert updated.json()["description"] == "Now with co-op."
    assert updated.json()["name"] == "Star Courier"
    assert updated.json()["updated_at"] > created["updated_at"]

    assert client.delete("/api/v1/projects/star-courier").status_code == 204
    assert client.get("/api/v1/projects/star-courier").status_code == 404
    assert client.delete("/api/v1/projects/star-courier").status_code == 404


def test_location_header_points_at_the_new_project(client):
    response = client.post("/api/v1/projects", json={"name": "Located"})
    assert response.headers["location"] == "/api/v1/projects/located"
    assert client.get(response.headers["location"]).status_code == 200


def test_server_chosen_ids_are_slugs_of_the_name_and_never_collide(client):
    assert create(client, name="Star Courier!")["id"] == "star-courier"
    assert create(client, name="Star  Courier")["id"] == "star-courier-2"
    assert create(client, name="star courier")["id"] == "star-courier-3"
    assert create(client, name="¡Niño Pájaro!")["id"] == "nino-pajaro"
    assert create(client, name="游戏")["id"] == "project"


def test_duplicate_id_is_a_409_and_changes_nothing(client):
    create(client, id="taken", description="first")
    response = client.post("/api/v1/projects", json={"id": "taken", "name": "Other", "description": "second"})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "/problems/already-exists"
    assert problem["status"] == 409
    assert "taken" in problem["detail"]
    assert client.get("/api/v1/projects/taken").json()["description"] == "first"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "id": "Bad Id"}, "id"),
        ({"name": "ok", "id": "-dash"}, "id"),
        ({"name": "ok", "status": "active"}, "status"),
        ({"name": 42}, "name"),
    ],
)
def test_invalid_bodies_are_422_with_every_field(client, body, field):
    response = client.post("/api/v1/projects", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert any(error["loc"][-1] == field for error in problem["errors"])
    assert client.get("/api/v1/projects").json()["items"] == []


def test_malformed_json_is_a_422(client):
    response = client.post("/api/v1/projects", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"


def test_oversized_bodies_are_413_and_change_nothing(client):
    response = client.post("/api/v1/projects", json={"name": "big", "description": "x" * 2_000_000})
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert client.get("/api/v1/projects").json()["items"] == []


def test_oversized_streamed_body_without_length_is_413(client):
    def chunks():
        yield b'{"name": "big", "description": "'
        for _ in range(40):
            yield b"x" * 65_536
        yield b'"}'

    response = client.post("/api/v1/projects", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.get("/api/v1/projects").json()["items"] == []


def test_patch_cannot_null_the_name_or_touch_unknown_fields(client):
    create(client, id="p")
    assert client.patch("/api/v1/projects/p", json={"name": None}).status_code == 422
    assert client.patch("/api/v1/projects/p", json={"status": "completed"}).status_code == 422
    assert client.patch("/api/v1/projects/p", json={"description": None}).json()["description"] is None
    assert client.get("/api/v1/projects/p").json()["name"] == "Star Courier"
    assert client.patch("/api/v1/projects/missing", json={"name": "x"}).status_code == 404


def test_empty_patch_changes_nothing(client):
    created = create(client, id="p")
    assert client.patch("/api/v1/projects/p", json={}).json() == created


def test_list_pages_newest_first_without_gaps_or_repeats(client):
    ids = [create(client, name=f"Game {n}")["id"] for n in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/projects", params=params).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_list_filters_by_status_and_rejects_bad_parameters(client):
    create(client, id="a")
    assert [p["id"] for p in client.get("/api/v1/projects?status=draft").json()["items"]] == ["a"]
    assert client.get("/api/v1/projects?status=active").json()["items"] == []
    assert client.get("/api/v1/projects?status=bogus").status_code == 422
    assert client.get("/api/v1/projects?limit=0").status_code == 422
    assert client.get("/api/v1/projects?limit=201").status_code == 422
    for cursor in ("not-a-cursor", "WzFd", "WyJhIiwxXQ"):  # garbage, [1], ["a", 1]
        response = client.get("/api/v1/projects", params={"cursor": cursor})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_every_cursor_of_the_documented_pattern_names_a_position(client):
    """Issue 11: schema-valid cursors were refused. Any cursor the pattern admits is a position; past the end, the
    page after it is empty (ids beyond what a database stores included)."""
    create(client, id="p")
    document = client.get("/openapi.json").json()["paths"]
    pages = {
        "/api/v1/projects": "2461382.5~zzz",
        "/api/v1/projects/{project_id}/tasks": "9999999999999999999",  # past 2^63-1
        "/api/v1/projects/{project_id}/artifacts": "0",
        "/api/v1/projects/{project_id}/jobs": "99999999999999999~\u00e9t\u00e9",
        "/api/v1/projects/{project_id}/context/versions": "1",
    }
    for path, cursor in pages.items():
        (parameter,) = [p for p in document[path]["get"]["parameters"] if p["name"] == "cursor"]
        assert re.match(parameter["schema"]["anyOf"][0]["pattern"], cursor), path
        response = client.get(path.replace("{project_id}", "p"), params={"cursor": cursor})
        assert response.status_code == 200, (path, response.text)
    assert client.get("/api/v1/projects", params={"cursor": "2461382.5~zzz"}).json()["items"] == []
    assert client.get("/api/v1/projects", params={"cursor": "9~a~b"}).status_code == 422  # not of the pattern


def test_delete_removes_what_belongs_to_the_project(client):
    create(client, id="doomed")
    create(client, id="kept")
    task = client.post("/api/v1/projects/doomed/tasks", json={"title": "T"}).json()
    client.post("/api/v1/projects/doomed/artifacts", json={"name": "a.md", "path": "a.md", "task_id": task["id"]})
    kept_task = client.post("/api/v1/projects/kept/tasks", json={"title": "K"}).json()
    assert client.delete("/api/v1/projects/doomed").status_code == 204
    assert client.get("/api/v1/projects/doomed/tasks").status_code == 404
    assert client.get(f"/api/v1/projects/kept/tasks/{kept_task['id']}").status_code == 200
