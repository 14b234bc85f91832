"""What an agent reads before its first call: every argument described where clients look (the top level of its
schema property, not inside `anyOf`), every prompt argument described."""

import json

import pytest
from mcp import Client

from gateway.app.auth.principal import Principal
from gateway.app.mcp.server import build_server
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import projects
from tests.mcp.conftest import BRIEF

pytestmark = pytest.mark.anyio


def _nested_descriptions(schema: object) -> bool:
    """Whether a description sits inside a combinator, where many clients never look."""
    if isinstance(schema, dict):
        for key in ("anyOf", "oneOf", "allOf"):
            if any(isinstance(arm, dict) and "description" in arm for arm in schema.get(key, [])):
                return True
        return any(_nested_descriptions(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_nested_descriptions(v) for v in schema)
    return False


async def test_every_tool_argument_has_a_top_level_description(server):
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    missing, hidden = [], []
    for tool in tools:
        for name, prop in tool.input_schema.get("properties", {}).items():
            if not str(prop.get("description", "")).strip():
                missing.append(f"{tool.name}.{name}")
            if _nested_descriptions(prop):
                hidden.append(f"{tool.name}.{name}")
    assert missing == [], "arguments without a description"
    assert hidden == [], "descriptions hidden inside anyOf/oneOf/allOf"


async def test_every_prompt_argument_has_a_description(server):
    async with Client(server) as client:
        prompts = (await client.list_prompts()).prompts
    assert prompts
    missing = [
        f"{prompt.name}.{argument.name}"
        for prompt in prompts
        for argument in prompt.arguments or []
        if not (argument.description or "").strip()
    ]
    assert missing == []
    assert all(prompt.description for prompt in prompts)


@pytest.fixture
def sketch(db, project) -> str:
    """A second project, beside `project`, still without an accepted plan."""
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="sketch", name="Sketch", brief=BRIEF))
    return "sketch"


async def test_every_tool_declares_an_output_schema_and_answers_in_it(server, project):
    """The SDK's client checks each structured answer against the tool's published (compacted) output schema."""
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        for tool in tools.values():
            assert tool.output_schema is not None, tool.name
            assert tool.output_schema["type"] == "object", tool.name
            assert "title" not in json.dumps(tool.output_schema).replace('"title": {', ""), tool.name
        calls = {
            "list_projects": {},
            "project_status": {"project_id": project},
            "get_task": {"project_id": project},
            "claim_task": {"project_id": project, "agent_id": "a1"},
            "get_context": {"project_id": project},
            "update_context": {"project_id": project, "append": {"notes": ["grid is 8x8"]}, "agent_id": "a1"},
            "release_task": {"project_id": project, "task": "T-001", "agent_id": "a1"},
            "get_planning_kit": {"project_id": project},
            "propose_plan_revision": {"project_id": project, "edits": [{"op": "remove", "code": "T-003"}]},
            "submit_artifact": {"project_id": project, "name": "notes.md", "content": "# Notes\nGrid.", "path": "n.md"},
        }
        answered = {}
        for name, arguments in calls.items():
            result = await client.call_tool(name, arguments)  # raises if the answer does not fit the schema
            assert not result.is_error, (name, result.content[0].text)
            assert result.structured_content is not None, name
            answered[name] = result
        artifact_id = answered["submit_artifact"].structured_content["artifact_id"]
        result = await client.call_tool("get_artifact", {"project_id": project, "artifact_id": artifact_id})
        assert result.structured_content == json.loads(result.content[0].text)
    for name, result in answered.items():
        text = json.loads(result.content[0].text)
        if name == "list_projects":  # a list is named in an object; the text stays the plain list
            assert result.structured_content == {"projects": text}
        else:
            assert result.structured_content == text, name
    assert answered["claim_task"].structured_content["claimed"] is True


async def test_resources_list_names_each_projects_context_and_accepted_plan(server, sketch):
    async with Client(server) as client:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        for uri in listed:  # every listed resource can be read
            assert json.loads((await client.read_resource(uri)).contents[0].text) is not None
    assert set(listed) == {
        "gateway://projects/crates/context",
        "gateway://projects/crates/plan",
        "gateway://projects/sketch/context",  # no accepted plan yet: no plan resource
    }
    assert listed["gateway://projects/crates/plan"].mime_type == "application/json"
    assert listed["gateway://projects/crates/plan"].title == "Crate Logic: accepted plan"
    assert "gateway://projects/{project_id}/tasks/{task}/context" in templates


async def test_an_agent_token_lists_only_its_projects_resources(db, app, sketch):
    agent = Principal(kind="agent", name="a1", role="agent", id=1, token_id=1, projects=frozenset({"sketch"}))
    server = build_server(db=db, store=app.state.store, settings=app.state.settings, principal=agent)
    async with Client(server) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
    assert listed == {"gateway://projects/sketch/context"}
