"""Completing a task over MCP: the same deliverable rule as REST, and the refusal names each missing path."""

import json

import pytest
from mcp import Client

from gateway.app.mcp.server import build_server
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import plans, projects

pytestmark = pytest.mark.anyio
BRIEF = {"title": "Star Courier", "genre": "platformer-2d", "engine": "godot", "platforms": ["linux"]}
AGENT = {"project_id": "sc", "agent_id": "a1"}


@pytest.fixture
def server(db, app):
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="sc", name="Star Courier", brief=BRIEF))
        plans.propose(session=session, project_id="sc")
        plans.accept(session=session, project_id="sc", version=1)
    return build_server(db=db, store=app.state.store, settings=app.state.settings)


def answer(result) -> dict:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


async def test_a_shopping_list_does_not_complete_the_design_task(server):
    async with Client(server) as agent:
        briefing = answer(await agent.call_tool("claim_task", {**AGENT, "task": "T-001"}))["briefing"]
        assert [d["name"] for d in briefing["task"]["deliverables"]] == ["docs/game-design.md"]
        shopping = answer(
            await agent.call_tool(
                "submit_artifact",
                {
                    **AGENT,
                    "task": "T-001",
                    "name": "shopping-list.md",
                    "path": "notes/shopping-list.md",
                    "category": "document",
                    "content": "# Shopping list - milk\n",
                },
            )
        )
        assert shopping["validation_status"] == "valid"

        refused = await agent.call_tool("complete_task", {**AGENT, "task": "T-001", "summary": "done"})
        assert refused.is_error
        text = refused.content[0].text
        assert "deliverables-missing" in text
        assert "docs/game-design.md (not handed in)" in text  # the service's detail, as REST words it

        blank = answer(
            await agent.call_tool(
                "submit_artifact",
                {**AGENT, "task": "T-001", "name": "game-design.md", "path": "docs/game-design.md", "content": "  \n"},
            )
        )
        assert blank["validation_status"] == "invalid"
        again = await agent.call_tool("complete_task", {**AGENT, "task": "T-001", "summary": "done"})
        assert (
            f"docs/game-design.md (handed in as artifact {blank.get('artifact_id', blank.get('id'))}, but it is not valid)"
            in again.content[0].text
        )

        answer(
            await agent.call_tool(
                "submit_artifact",
                {
                    **AGENT,
                    "task": "T-001",
                    "name": "game-design.md",
                    "path": "docs//./game-design.md",
                    "content": "# Star Courier\n\nA courier leaps across a collapsing station.\n",
                },
            )
        )
        done = answer(await agent.call_tool("complete_task", {**AGENT, "task": "T-001", "summary": "done"}))
    assert done["task"]["status"] == "done"
