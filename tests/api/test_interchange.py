"""Import, export and archives over REST: status codes, media types, problems."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only
FIXTURES = Path(__file__).parents[1] / "app" / "interchange" / "fixtures"
BRIEF = {"title": "Star Courier", "genre": "platformer-2d", "engine": "godot", "scope": "prototype"}


def files(name: str) -> list[dict[str, str]]:
    return [{"name": name, "content": (FIXTURES / name).read_text(encoding="utf-8")}]


@pytest.fixture
def project(client) -> str:
    assert client.post("/api/v1/projects", json={"id": "courier", "name": "Courier", "brief": BRIEF}).status_code == 201
    return "courier"


def test_import_answers_201_then_200_for_the_same_files(client, project):
    body = {"format": "speckit", "files": files("speckit-tasks.md")}
    first = client.post(f"/api/v1/projects/{project}/plans/imports", json=body)
    assert first.status_code == 201, first.text
    result = first.json()
    assert result["created"] is True
    assert result["format"] == "speckit"
    assert result["plan"]["version"] == 1
    assert result["plan"]["details"]["planner"] == "import:speckit"
    assert result["progress"] == {"T-001": {"status": "done", "reason": None}}
    assert first.headers["location"] == f"/api/v1/projects/{project}/plans/1"
    second = client.post(f"/api/v1/projects/{project}/plans/imports", json={**body, "format": "auto"})
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert len(client.get(f"/api/v1/projects/{project}/plans").json()["items"]) == 1


def test_a_malformed_import_is_a_422_naming_the_line(client, project):
    answer = client.post(
        f"/api/v1/projects/{project}/plans/imports",
        json={"format": "taskmaster", "files": files("taskmaster-bad-syntax.json")},
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "line 4, column 32" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["taskmaster-bad-syntax.json", "line 4, column 32"]
    assert client.get(f"/api/v1/projects/{project}/plans").json()["items"] == []
    unknown = client.post(
        f"/api/v1/projects/{project}/plans/imports", json={"format": "trello", "files": files("speckit-tasks.md")}
    )
    assert unknown.status_code == 422


def test_export_formats_and_their_media_types(client, project):
    client.post(f"/api/v1/projects/{project}/plans")
    markdown = client.get(f"/api/v1/projects/{project}/plans/1/export")
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "courier-plan-v1.md" in markdown.headers["content-disposition"]
    assert markdown.text.startswith("# Star Courier — plan version 1")
    csv_answer = client.get(f"/api/v1/projects/{project}/plans/1/export", params={"format": "csv"})
    assert csv_answer.headers["content-type"].startswith("text/csv")
    exported = client.get(f"/api/v1/projects/{project}/plans/1/export", params={"format": "json"})
    draft = exported.json()
    assert draft["tasks"][0]["code"] == "T-001"
    back = client.post(
        f"/api/v1/projects/{project}/plans/imports",
        json={"format": "gateway", "files": [{"name": "plan.json", "content": exported.text}]},
    )
    assert back.status_code == 201
    assert client.get(f"/api/v1/projects/{project}/plans/2/export", params={"format": "json"}).text == exported.text
    assert client.get(f"/api/v1/projects/{project}/plans/9/export").status_code == 404
    assert client.get(f"/api/v1/projects/{project}/plans/1/export", params={"format": "docx"}).status_code == 422


def test_archive_export_and_import(client, project):
    client.post(f"/api/v1/projects/{project}/plans")
    client.post(f"/api/v1/projects/{project}/plans/1/accept")
    archive = client.get(f"/api/v1/projects/{project}/archive")
    assert archive.status_code == 200
    assert "courier-archive.json" in archive.headers["content-disposition"]
    body = archive.json()
    taken = client.post("/api/v1/archives", json=body)
    assert taken.status_code == 409
    created = client.post("/api/v1/archives", params={"project_id": "courier-copy"}, json=body)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/projects/courier-copy"
    copy = created.json()
    assert copy["status"] == "active"
    assert copy["event_seq"] == body["project"]["event_seq"]
    events = client.get("/api/v1/projects/courier-copy/events").json()["items"]
    assert [e["type"] for e in events] == [e["type"] for e in body["events"]]
    assert client.post("/api/v1/archives", json={**body, "format": "zip"}).status_code == 422
    assert client.get("/api/v1/projects/nobody/archive").status_code == 404
    assert json.loads(json.dumps(body))["plans"][0]["version"] == 1


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2]", 5, None, '{"notes": {"k": Infinity}}', '{"notes": ' + "[" * 200 + "]" * 200 + "}"],
)
def test_an_archived_context_that_would_not_read_back_is_refused_whole(client, project, content):
    """A context version's content was imported as given: garbage made every later read of the context a 500,
    and Infinity read back as null. The archive is malformed; nothing is imported."""
    body = client.get(f"/api/v1/projects/{project}/archive").json()
    for context in body["contexts"]:
        context["content"] = content
    refused = client.post("/api/v1/archives", params={"project_id": "copy"}, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["type"] == "malformed_archive"
    assert client.get("/api/v1/projects/copy").status_code == 404
    assert client.get(f"/api/v1/projects/{project}/context").status_code == 200


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [("tasks", "deliverables", "not json"), ("tasks", "estimates", "[1, 2]"), ("tasks", "deliverables", "[1, 2]")],
)
def test_an_archived_row_that_would_not_read_back_is_refused_whole(client, project, section, field, value):
    """Rows were imported as given: a task whose deliverables are not JSON made every task listing a 500."""
    client.post(f"/api/v1/projects/{project}/plans")
    body = client.get(f"/api/v1/projects/{project}/archive").json()
    for row in body[section]:
        row[field] = value
    refused = client.post("/api/v1/archives", params={"project_id": "copy"}, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["type"] == "malformed_archive"
    assert "would not" in refused.json()["detail"]
    assert client.get("/api/v1/projects/copy").status_code == 404


def test_an_archive_with_two_tasks_of_one_code_in_a_plan_is_a_422(client, project):
    """The unique (plan, code) index refused the second row mid-import: an IntegrityError answered 500."""
    client.post(f"/api/v1/projects/{project}/plans")
    body = client.get(f"/api/v1/projects/{project}/archive").json()
    body["tasks"][1]["code"] = body["tasks"][0]["code"]
    refused = client.post("/api/v1/archives", params={"project_id": "copy"}, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["type"] == "malformed_archive"
    assert client.get("/api/v1/projects/copy").status_code == 404
