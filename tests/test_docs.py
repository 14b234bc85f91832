"""docs/asyncapi.yaml and docs/events.md describe exactly the events and close codes the code has."""

import json
import re
from pathlib import Path

import yaml

from gateway.app.outbox import EVENT_TYPES, CloseCode, EventRead

DOCS = Path(__file__).resolve().parents[1] / "docs"
TYPE = re.compile(r"`((?:project|plan|task|context|artifact|job)\.[a-z_]+)`")


def _asyncapi() -> dict:
    return yaml.safe_load((DOCS / "asyncapi.yaml").read_text(encoding="utf-8"))


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict, ref: str):
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_asyncapi_document_lists_every_event_type_and_no_other():
    document = _asyncapi()
    assert document["asyncapi"].startswith("3.")
    components = document["components"]
    envelope = components["schemas"]["Envelope"]
    assert envelope["properties"]["type"]["enum"] == list(EVENT_TYPES)
    assert set(envelope["properties"]) == set(EventRead.model_fields)
    documented = {name for name in components["messages"] if "." in name}
    assert documented == set(EVENT_TYPES)
    for event_type in EVENT_TYPES:
        assert components["messages"][event_type]["summary"] == EVENT_TYPES[event_type]
        assert components["schemas"][event_type]["type"] == "object"
    for channel in document["channels"].values():
        assert set(EVENT_TYPES) <= set(channel["messages"])


def test_every_reference_in_the_asyncapi_document_resolves():
    document = _asyncapi()
    refs = set(_refs(document))
    assert refs
    for ref in refs:
        assert _resolve(document, ref) is not None, ref


def test_the_close_codes_are_documented_in_both_places():
    document = _asyncapi()
    assert set(document["x-close-codes"]) == {int(code) for code in CloseCode}
    prose = (DOCS / "events.md").read_text(encoding="utf-8")
    for code in CloseCode:
        assert f"| {int(code)} |" in prose, code


def test_the_prose_catalogue_names_every_event_type_and_no_other():
    prose = (DOCS / "events.md").read_text(encoding="utf-8")
    assert set(TYPE.findall(prose)) == set(EVENT_TYPES)


def _documented(document: dict, event_type: str) -> dict:
    schema = document["components"]["schemas"][event_type]
    return _resolve(document, schema["$ref"]) if "$ref" in schema else schema


def test_the_events_a_project_records_carry_what_the_asyncapi_document_says(client):
    """A project worked from brief to a reviewed, reopened and cancelled task: every event's data is valid against
    its documented schema, and carries no key the document does not name."""
    from jsonschema import Draft202012Validator

    brief = {"title": "Star Courier", "genre": "platformer-2d", "engine": "godot", "platforms": ["linux"]}
    base = "/api/v1/projects/sc"
    assert client.post("/api/v1/projects", json={"id": "sc", "name": "Star Courier", "brief": brief}).status_code == 201
    assert client.patch(base, json={"require_review": True, "description": "rooftops"}).status_code == 200
    client.post(f"{base}/plans")
    client.post(f"{base}/plans")
    assert client.post(f"{base}/plans/2/reject", json={"reason": "too long"}).status_code == 200
    tasks = {t["code"]: t["id"] for t in client.post(f"{base}/plans/1/accept").json()["tasks"]}
    first = f"{base}/tasks/{tasks['T-001']}"
    assert client.post(f"{first}/claim", json={"agent_id": "a1"}).status_code == 200
    assert client.post(f"{first}/release", json={"agent_id": "a1"}).status_code == 200
    assert client.post(f"{first}/start").status_code == 200
    assert client.post(f"{first}/block", json={"reason": "no engine"}).status_code == 200
    assert client.post(f"{first}/unblock").status_code == 200
    assert client.post(f"{first}/start").status_code == 200
    design = client.post(
        f"{base}/artifacts/files",
        params={"task_id": tasks["T-001"], "path": "docs/game-design.md"},
        files={"file": ("game-design.md", b"# Star Courier\n\nRooftops.\n")},
    ).json()
    assert client.patch(f"{base}/artifacts/{design['id']}", json={"mime_type": "text/markdown"}).status_code == 200
    assert client.post(f"{first}/complete", json={"summary": "written"}).status_code == 200
    assert client.post(f"{first}/approve").status_code == 200
    assert client.post(f"{first}/reopen", json={"reason": "again"}).status_code == 200
    assert client.post(f"{base}/tasks/{tasks['T-002']}/cancel", json={"reason": "later"}).status_code == 200
    extra = client.post(f"{base}/tasks", json={"title": "Sketch"}).json()
    assert client.patch(f"{base}/tasks/{extra['id']}", json={"priority": 2}).status_code == 200
    assert client.delete(f"{base}/tasks/{extra['id']}").status_code == 204
    stray = client.post(f"{base}/artifacts/files", files={"file": ("notes.txt", b"notes")}).json()
    assert client.delete(f"{base}/artifacts/{stray['id']}").status_code == 204

    document = _asyncapi()
    seen: set[str] = set()
    wrong: dict[str, list] = {}
    after = 0
    while after is not None:
        page = client.get(f"{base}/events", params={"after": after}).json()
        for event in page["items"]:
            schema = _documented(document, event["type"])
            errors = [error.message for error in Draft202012Validator(schema).iter_errors(event["data"])]
            errors += [f"{key!r} is not documented" for key in set(event["data"]) - set(schema.get("properties", {}))]
            if errors:
                wrong.setdefault(event["type"], []).extend(sorted(set(errors) - set(wrong.get(event["type"], []))))
            seen.add(event["type"])
        after = page["next_after"]
    assert wrong == {}, json.dumps(wrong, indent=1)
    assert len(seen) >= 20, sorted(seen)
