"""What an agent reads before its first call: every argument described where clients look (the top level of its
schema property, not inside `anyOf`), every prompt argument described."""

import pytest
from mcp import Client

from gateway.app.mcp.server import build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server(db, app):
    return build_server(db=db, store=app.state.store, settings=app.state.settings)


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
