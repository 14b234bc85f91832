"""Limits at the door: JSON nesting (issue 11). What is stored must always be readable back."""

import json

import pytest

from gateway.app import jsondoc
from gateway.app.config import Settings
from gateway.app.errors import InvalidInput
from gateway.app.main import create_app
from gateway.app.services import contexts

API = "/api/v1"


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _etag(client) -> str:
    return client.get(f"{API}/projects/p/context").headers["etag"]


@pytest.mark.parametrize("depth", [65, 256, 989, 5000])
def test_a_context_nested_too_deep_is_refused_and_the_context_stays_readable(client, depth):
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    before = client.get(f"{API}/projects/p/context").json()
    answer = client.patch(
        f"{API}/projects/p/context",
        content='{"notes": ' + nested(depth) + "}",
        headers={"If-Match": _etag(client), "Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["type"] == "json_depth"
    after = client.get(f"{API}/projects/p/context")
    assert after.status_code == 200
    assert after.json() == before


def test_nesting_within_the_limit_is_stored_and_read_back(client):
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    body = '{"notes": ' + nested(62) + "}"  # 63 levels with the notes object, 64 with the document
    answer = client.patch(
        f"{API}/projects/p/context",
        content=body,
        headers={"If-Match": _etag(client), "Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 200, answer.text
    read = client.get(f"{API}/projects/p/context")
    assert read.status_code == 200
    assert jsondoc.depth(read.json()["content"]["notes"]) == 62


def test_every_json_body_is_held_to_the_limit_whatever_its_content_type_says(client):
    deep = '{"id": "p", "name": "P", "description": ' + nested(100) + "}"
    for content_type in ("application/json", "application/json; charset=utf-8", "", "application/vnd.x+json"):
        headers = {"Content-Type": content_type} if content_type else {}
        answer = client.post(f"{API}/projects", content=deep, headers=headers)
        assert answer.status_code == 422, content_type
    assert client.get(f"{API}/projects/p").status_code == 404


def test_the_depth_limit_is_a_setting(settings, db):
    from tests.conftest import LocalClient

    app = create_app(settings.model_copy(update={"max_json_depth": 3}), db=db)
    with LocalClient(app) as client:
        assert (
            client.post(f"{API}/projects", json={"id": "p", "name": "P", "brief": {"features": ["x"]}}).status_code
            == 201
        )
        refused = client.post(f"{API}/projects", json={"id": "q", "name": "Q", "brief": {"x": [[1]]}})
        assert refused.status_code == 422
        assert "3 levels" in refused.json()["detail"]
    with pytest.raises(ValueError, match="less than or equal"):
        Settings(max_json_depth=jsondoc.READABLE_DEPTH + 1)


def test_the_store_refuses_what_it_could_not_read_back_whatever_the_door():
    """MCP over stdio has no HTTP door: the context service holds the same line."""
    content: dict = {"notes": {}}
    node = content["notes"]
    for _ in range(jsondoc.READABLE_DEPTH + 5):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(InvalidInput, match="levels deep"):
        contexts.validate_content("global", content)


def test_text_depth_counts_brackets_outside_strings_only():
    assert jsondoc.text_depth(b"1") == 0
    assert jsondoc.text_depth(b'{"a": [1, {"b": "[[[{{{"}]}') == 3
    assert jsondoc.text_depth(b'["\\"[[[", "\\\\", [[]]]') == 3
    assert jsondoc.text_depth(nested(500).encode(), stop_after=10) == 11
    assert jsondoc.depth({"a": [1, {"b": "[[["}]}) == 3
    assert jsondoc.depth(7) == 0


BIG = 2**63  # one past the largest integer the databases store

OUT_OF_RANGE = [
    ("GET", f"/projects/p/tasks/{BIG}", None),
    ("GET", f"/projects/p/tasks?plan_id={BIG}", None),
    ("POST", f"/projects/p/tasks/{BIG}/claim", {"agent_id": "a"}),
    ("GET", f"/projects/p/artifacts/{BIG}", None),
    ("GET", f"/projects/p/artifacts?task_id={BIG}", None),
    ("GET", f"/projects/p/plans/{BIG}", None),
    ("GET", f"/projects/p/plans/diff?from=1&to={BIG}", None),
    ("GET", f"/projects/p/context/versions/{BIG}", None),
    ("GET", f"/projects/p/tasks/{BIG}/context", None),
    ("GET", f"/projects/p/events?after={BIG}", None),
    ("POST", "/projects/p/tasks", {"title": "t", "priority": BIG}),
    ("POST", "/projects/p/artifacts", {"name": "n.md", "path": "n.md", "task_id": BIG}),
    ("POST", "/projects/p/artifacts", {"name": "n.md", "path": "n.md", "size_bytes": BIG}),
]


@pytest.mark.parametrize(("method", "path", "body"), OUT_OF_RANGE)
def test_integers_past_64_bits_are_a_422_not_a_500(client, method, path, body):
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    answer = client.request(method, API + path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert client.get(f"{API}/projects/p/artifacts").json()["items"] == []


INT32_PAST = 2**31  # one past PostgreSQL's INTEGER, what the id columns are there (these were 500s on it)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/projects/p/tasks/{INT32_PAST}", None),
        ("GET", f"/projects/p/context/versions/{INT32_PAST}", None),
        ("POST", "/projects/p/artifacts", {"name": "n.md", "path": "n.md", "size_bytes": INT32_PAST}),
    ],
)
def test_integers_past_what_every_database_stores_are_a_422(client, method, path, body):
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    answer = client.request(method, API + path, json=body)
    assert answer.status_code == 422, answer.text
    assert client.get(f"{API}/projects/p/tasks", params={"cursor": str(INT32_PAST)}).status_code == 200


def test_an_overflow_no_bound_caught_is_still_a_422(app):
    from tests.conftest import LocalClient

    def overflow() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    app.add_api_route("/overflow", overflow)
    with LocalClient(app) as client:
        answer = client.get("/overflow")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["type"] == "int_range"


NUL_REQUESTS = [
    ("POST", "/api/v1/projects", {"json": {"id": "nul", "name": "a\u0000b"}}),
    ("PATCH", "/api/v1/projects/p", {"json": {"name": "a\u0000b"}}),
    ("POST", "/api/v1/projects/p/tasks", {"json": {"title": "Jump\u0000"}}),
    ("GET", "/api/v1/projects/p/tasks", {"params": {"status": "pending\u0000"}}),
    ("GET", "/api/v1/projects/a%00b", {}),
    ("PATCH", "/api/v1/projects/p", {"json": {"description": "rooftops\u0000"}}),
]


@pytest.mark.parametrize(("method", "path", "extra"), NUL_REQUESTS)
def test_text_with_a_nul_character_is_a_422_that_changes_nothing(client, method, path, extra):
    """PostgreSQL cannot store U+0000 in text (it was a 500 there); both databases refuse it the same way."""
    assert client.post("/api/v1/projects", json={"id": "p", "name": "P"}).status_code == 201
    head = client.get("/api/v1/events").json()["head"]
    response = client.request(method, path, **extra)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]
    assert client.get("/api/v1/events").json()["head"] == head
    assert client.get("/api/v1/projects/p").json()["name"] == "P"


def test_json_content_may_carry_a_nul_character_and_reads_it_back(client):
    """Contexts are JSON: their stored text escapes the character, so it is kept, not refused."""
    assert client.post("/api/v1/projects", json={"id": "p", "name": "P"}).status_code == 201
    current = client.get("/api/v1/projects/p/context")
    patched = client.patch(
        "/api/v1/projects/p/context",
        json={"notes": "a\u0000b"},
        headers={"If-Match": current.headers["etag"], "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert client.get("/api/v1/projects/p/context").json()["content"]["notes"] == "a\u0000b"


@pytest.mark.parametrize(
    "value", ['"\\ud800"', '"a\\udfffb"', '{"\\ud83d": 1}', "1e999", "-1e999", "NaN", "Infinity", "[1, -Infinity]"]
)
def test_a_context_value_json_cannot_carry_is_a_422_and_the_context_stays_readable(client, value):
    """Python's parser takes lone surrogates and non-finite numbers; storing one was a 500 (no UTF-8 for it) or
    read back as null: refused instead, with the context as it was."""
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    before = client.get(f"{API}/projects/p/context").json()
    answer = client.patch(
        f"{API}/projects/p/context",
        content='{"notes": {"k": ' + value + "}}",
        headers={"If-Match": _etag(client), "Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["type"] == "json_value"
    assert client.get(f"{API}/projects/p/context").json() == before


def test_a_surrogate_pair_and_large_finite_numbers_are_stored_and_read_back(client):
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    answer = client.patch(
        f"{API}/projects/p/context",
        content='{"notes": {"emoji": "\\ud83d\\ude00", "big": 1e308, "huge_int": 123456789012345678901234567890}}',
        headers={"If-Match": _etag(client), "Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 200, answer.text
    notes = client.get(f"{API}/projects/p/context").json()["content"]["notes"]
    assert notes == {"emoji": "😀", "big": 1e308, "huge_int": 123456789012345678901234567890}


def test_the_context_service_refuses_unreadable_values_whatever_the_door():
    for content in ({"notes": {"k": float("nan")}}, {"notes": {"k": "\ud800"}}):
        with pytest.raises(InvalidInput, match="cannot hold"):
            contexts.validate_content("global", content)


def test_an_archive_with_a_lone_surrogate_is_a_422_that_imports_nothing(client):
    """An archive's rows are free-form JSON: a lone surrogate escape reached the driver, which cannot encode it
    (a 500). The database door refuses it like a NUL character, on every door."""
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    archive = client.get(f"{API}/projects/p/archive").json()
    archive["project"]["id"] = "copy"
    body = json.dumps(archive).replace('"name": "P"', '"name": "\\ud800"', 1)
    assert "\\ud800" in body
    head = client.get(f"{API}/events").json()["head"]
    answer = client.post(f"{API}/archives", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["type"] == "surrogate_character"
    assert client.get(f"{API}/projects/copy").status_code == 404
    assert client.get(f"{API}/events").json()["head"] == head
