"""docs/asyncapi.yaml and docs/events.md describe exactly the events and close codes the code has."""

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
