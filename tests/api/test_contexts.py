"""/api/v1/projects/{id}/context and the task contexts: versions, history, diff, restore, safe edits."""

import copy

import pytest

BASE = "/api/v1/projects/p/context"
CONTENT = {
    "game": {"title": "Star Courier", "genre": "platformer-2d", "engine": "godot", "pillars": ["tight controls"]},
    "conventions": {"naming": "snake_case"},
    "decisions": [],
    "constraints": ["60 fps"],
    "glossary": {},
    "progress": {"plan": None, "total": 0, "done": [], "in_progress": [], "next": []},
}


@pytest.fixture
def project(client):
    client.post("/api/v1/projects", json={"id": "p", "name": "P"})
    client.post("/api/v1/projects", json={"id": "other", "name": "Other"})
    created = client.get(BASE)
    assert created.status_code == 200
    assert (created.json()["version"], created.json()["source"]) == (1, "template-default")
    assert client.put(BASE, json=CONTENT, headers={"If-Match": created.headers["etag"]}).status_code == 200
    return "p"


def current(client, url=BASE):
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


def test_active_context_carries_its_version_as_etag(client, project):
    body, etag = current(client)
    assert etag == f'"{body["version"]}"'
    assert body["is_active"] is True
    assert body["scope"] == "global"
    assert client.get("/api/v1/projects/p").json()["active_context_id"] == body["id"]


def test_put_patch_and_history(client, project):
    body, etag = current(client)
    new = copy.deepcopy(body["content"]) | {"constraints": ["60 fps", "no online features"]}
    put = client.put(BASE, json=new, headers={"If-Match": etag})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == body["version"] + 1
    assert put.json()["source"] == "manual-edit"
    assert put.json()["created_by"] == "user"
    assert put.headers["etag"] == f'"{body["version"] + 1}"'

    patch = client.patch(
        BASE,
        content=b'{"glossary": {"dash": "burst of speed"}, "my_notes": {"tone": "wry"}}',
        headers={"If-Match": put.headers["etag"], "content-type": "application/merge-patch+json"},
    )
    assert patch.status_code == 200, patch.text
    patched = patch.json()["content"]
    assert patched["glossary"] == body["content"]["glossary"] | {"dash": "burst of speed"}
    assert patched["my_notes"] == {"tone": "wry"}  # a user's own keys are kept
    assert patched["constraints"] == ["60 fps", "no online features"]

    history = client.get(f"{BASE}/versions").json()["items"]
    assert [item["version"] for item in history] == list(range(patch.json()["version"], 0, -1))
    assert [item["is_active"] for item in history] == [True] + [False] * (len(history) - 1)
    assert "glossary" in history[0]["summary"]
    assert client.get(f"{BASE}/versions/{body['version']}").json()["content"] == body["content"]


def test_stale_or_missing_if_match_is_refused_and_writes_nothing(client, project):
    body, etag = current(client)
    client.patch(BASE, json={"constraints": []}, headers={"If-Match": etag})
    stale = client.patch(BASE, json={"constraints": ["x"]}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["type"] == "/problems/precondition-failed"
    assert stale.json()["current_version"] == body["version"] + 1
    missing = client.put(BASE, json=body["content"])
    assert missing.status_code == 428
    assert missing.json()["type"] == "/problems/precondition-required"
    assert client.patch(BASE, json={"constraints": ["y"]}).status_code == 428
    assert client.get(f"{BASE}/versions").json()["items"][0]["version"] == body["version"] + 1
    assert client.put(BASE, json=body["content"], headers={"If-Match": "garbage"}).status_code == 422


def test_diff_names_every_changed_path(client, project):
    body, etag = current(client)
    edited = copy.deepcopy(body["content"])
    edited["game"]["title"] = "Star Courier DX"
    edited["decisions"].append({"what": "Use Godot 4.3", "by": "user"})
    edited["constraints"] = []
    client.put(BASE, json=edited, headers={"If-Match": etag})
    diff = client.get(f"{BASE}/diff", params={"from": body["version"], "to": body["version"] + 1}).json()
    changes = {(c["op"], c["path"]): c for c in diff["changes"]}
    assert changes["changed", "/game/title"]["old"] == "Star Courier"
    assert changes["changed", "/game/title"]["new"] == "Star Courier DX"
    assert ("added", "/decisions/0") in changes
    assert changes["removed", "/constraints/0"]["old"] == "60 fps"
    assert client.get(f"{BASE}/diff", params={"from": 1, "to": 99}).status_code == 404


def test_restore_brings_an_old_version_back_as_the_newest(client, project):
    body, etag = current(client)
    client.patch(BASE, json={"game": {"title": "Renamed"}}, headers={"If-Match": etag})
    restored = client.post(
        f"{BASE}/versions/{body['version']}/restore", headers={"If-Match": f'"{body["version"] + 1}"'}
    )
    assert restored.status_code == 200
    assert restored.json()["version"] == body["version"] + 2
    assert restored.json()["content"] == body["content"]
    assert restored.json()["summary"] == f"Restored version {body['version']}"
    versions = [item["version"] for item in client.get(f"{BASE}/versions").json()["items"]]
    assert versions == list(range(body["version"] + 2, 0, -1))  # nothing deleted or rewritten


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ([1, 2, 3], 422),
        ("a string", 422),
        ({"game": {}}, 422),  # required sections missing
        ({**CONTENT, "decisions": "not a list"}, 422),
        ({**CONTENT, "blob": "x" * 300_000}, 413),
    ],
)
def test_bad_content_is_refused(client, project, payload, status):
    body, etag = current(client)
    response = client.put(BASE, json=payload, headers={"If-Match": etag})
    assert response.status_code == status, response.text
    assert current(client)[0]["version"] == body["version"]


def test_a_patch_that_removes_a_required_key_is_refused(client, project):
    body, etag = current(client)
    response = client.patch(BASE, json={"progress": None}, headers={"If-Match": etag})
    assert response.status_code == 422
    assert any(error["loc"][:2] == ["body", "progress"] for error in response.json()["errors"])
    assert current(client)[0]["version"] == body["version"]


def test_task_contexts_are_separate_keys_of_their_own_project(client, project):
    task = client.post("/api/v1/projects/p/tasks", json={"title": "Jump"}).json()
    theirs = client.post("/api/v1/projects/other/tasks", json={"title": "Theirs"}).json()
    url = f"/api/v1/projects/p/tasks/{task['id']}/context"
    assert client.get(url).status_code == 404
    content = {"task": {"title": "Jump"}, "game": {}, "conventions": {}, "decisions": [], "dependencies": []}
    first = client.put(url, json=content)
    assert first.status_code == 200
    assert (first.json()["version"], first.json()["scope"], first.json()["task_id"]) == (1, "task", task["id"])
    second = client.patch(url, json={"notes": ["mind the ledge"]}, headers={"If-Match": first.headers["etag"]})
    assert second.json()["version"] == 2
    assert [i["version"] for i in client.get(f"{url}/versions").json()["items"]] == [2, 1]
    assert client.get(f"{url}/diff?from=1&to=2").json()["changes"][0]["path"] == "/notes"
    restored = client.post(f"{url}/versions/1/restore", headers={"If-Match": '"2"'})
    assert restored.json()["content"] == content
    assert client.get(f"{url}/versions/3").json()["version"] == 3
    # the global context is untouched, and another project's task is not this project's
    assert current(client)[0]["scope"] == "global"
    foreign = f"/api/v1/projects/p/tasks/{theirs['id']}/context"
    assert client.put(foreign, json=content).status_code == 404
    assert client.get(f"/api/v1/projects/other/tasks/{theirs['id']}/context").status_code == 404


def test_every_new_version_records_an_event(client, project, db):
    from sqlmodel import select

    from gateway.app.db import EventDB

    body, etag = current(client)
    client.patch(BASE, json={"constraints": []}, headers={"If-Match": etag})
    with db.read_session() as session:
        updates = list(session.exec(select(EventDB).where(EventDB.type == "context.updated")))
    assert updates[-1].project_id == "p"
    assert updates[-1].data["version"] == body["version"] + 1


def test_json_patch_appends_a_decision_without_if_match_and_loses_none(client, project):
    body, etag = current(client)
    before = len(body["content"]["decisions"])
    append = [{"op": "add", "path": "/decisions/-", "value": {"what": "Tiles are 16x16"}}]
    # two writers who read the same version both append: neither loses the other's entry, no If-Match needed
    first = client.patch(BASE, json=append, headers={"content-type": "application/json-patch+json"})
    assert first.status_code == 200, first.text
    second = client.patch(
        BASE,
        json=[{"op": "add", "path": "/decisions/-", "value": {"what": "Coyote time is 0.1 s"}}],
        headers={"content-type": "application/json-patch+json"},
    )
    assert second.status_code == 200, second.text
    decisions = second.json()["content"]["decisions"]
    assert [d["what"] for d in decisions[before:]] == ["Tiles are 16x16", "Coyote time is 0.1 s"]
    # anything else than appends still needs the version it was based on
    replace = [{"op": "replace", "path": "/constraints", "value": []}]
    assert client.patch(BASE, json=replace).status_code == 428
    stale = client.patch(BASE, json=replace, headers={"If-Match": etag})
    assert stale.status_code == 412
    broken = client.patch(
        BASE, json=[{"op": "remove", "path": "/nowhere"}], headers={"If-Match": second.headers["etag"]}
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["loc"] == ["body", 0, "path"]


def test_automatic_updates_are_written_by_the_system(client, project):
    client.post("/api/v1/projects/p/plans").raise_for_status()
    client.post("/api/v1/projects/p/plans/1/accept").raise_for_status()
    task = client.post("/api/v1/projects/p/tasks/next/claim", json={"agent_id": "a1", "start": True}).json()
    versions = client.get(f"{BASE}/versions?limit=200").json()["items"]
    automatic = [v for v in versions if v["source"] == "ai-generate"]  # the plan's acceptance
    assert automatic
    assert {v["created_by"] for v in automatic} == {"system"}
    task_context = client.get(f"/api/v1/projects/p/tasks/{task['id']}/context").json()
    assert task_context["created_by"] == "system"
    assert set(task_context["content"]) == {"task", "decisions", "dependencies"}  # nothing copied from global


def test_if_match_and_the_body_are_documented_as_what_is_accepted(client):
    """Issue 11: `If-Match: null` and a `null` body were schema-valid yet refused; the schema now says what is."""
    client.post("/api/v1/projects", json={"id": "doc", "name": "Doc"})
    path = "/api/v1/projects/doc/context"
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/projects/{project_id}/context"]["put"]
    (if_match,) = [p for p in operation["parameters"] if p["name"] == "If-Match"]
    assert "pattern" in str(if_match["schema"])
    assert client.put(path, json={"a": 1}, headers={"If-Match": "null"}).status_code == 422
    assert (
        client.put(path, content=b"null", headers={"If-Match": '"1"', "Content-Type": "application/json"}).status_code
        == 422
    )
    content = client.get(path).json()["content"]
    assert client.put(path, json=content | {"notes": ["kept"]}, headers={"If-Match": 'W/"1"'}).status_code == 200
    assert client.get(path).json()["content"]["notes"] == ["kept"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "GlobalContext" in str(body)
