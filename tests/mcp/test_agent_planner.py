"""The connected agent as the planner: an MCP client (the SDK's, over streamable HTTP) reads the kit, sends
broken drafts (a cycle, unknown tools, an uncovered feature), gets every problem back, fixes them and stores a
proposal; then revises it from feedback. LLM revisions asked over MCP become jobs."""

import json
from typing import Any

import httpx2
import pytest
from mcp import Client

from tests.fake_llm import Answer, FakeLLM
from tests.llm_answers import BRIEF, valid_answer, with_cycle, with_unknown_tool, without_feature
from tests.llm_fixtures import create_project, wait_for_job

pytestmark = pytest.mark.anyio


def _data(result: Any) -> dict[str, Any]:
    return json.loads(result.content[0].text)


async def test_an_agent_drafts_fixes_and_stores_a_plan_then_revises_it(live_server):
    client = httpx2.Client(base_url=live_server.url, timeout=30)
    create_project(client)
    async with Client(f"{live_server.url}/mcp") as agent:
        kit = _data(await agent.call_tool("get_planning_kit", {"project_id": "lantern"}))
        assert kit["mode"] == "propose"
        assert kit["engine"] == "godot"
        assert set(BRIEF.features) <= set(kit["brief"]["features"])
        assert "tasks" in kit["schema"]["properties"]
        assert "milestones" in kit["rules"]
        servers = {s["name"] for s in kit["catalogue"]}
        assert "godot" in servers
        assert "unity" not in servers

        broken = with_unknown_tool(with_cycle(valid_answer()), "photoshop.magic_wand")
        broken["tasks"][5]["mcp_tools"] = ["godot.summon_dragon"]
        broken = without_feature(broken, "map-screen")
        refused = await agent.call_tool(
            "submit_plan_draft", {"project_id": "lantern", "agent_id": "claude", "draft": broken}
        )
        assert refused.is_error
        body = _data(refused)
        assert body["stored"] is False
        assert body["problem_count"] == len(body["problems"]) >= 4
        types = {p["type"] for p in body["problems"]}
        assert {"dependency_cycle", "tool_unknown", "feature_uncovered"} <= types
        unknown = [p["msg"] for p in body["problems"] if p["type"] == "tool_unknown"]
        assert any("photoshop.magic_wand" in m for m in unknown)
        assert any("summon_dragon" in m for m in unknown)
        assert any(p["where"] == "T-001" for p in body["problems"] if p["type"] == "dependency_cycle")
        assert client.get("/api/v1/projects/lantern/plans").json()["items"] == []

        schema_broken = await agent.call_tool(
            "submit_plan_draft", {"project_id": "lantern", "agent_id": "claude", "draft": {"summary": "no tasks"}}
        )
        assert schema_broken.is_error
        assert "tasks" in json.dumps(_data(schema_broken)["problems"])

        stored = _data(
            await agent.call_tool(
                "submit_plan_draft", {"project_id": "lantern", "agent_id": "claude", "draft": valid_answer()}
            )
        )
        assert stored["stored"] is True
        assert stored["version"] == 1
        assert stored["provenance"]["planner"] == "agent:claude"

        kit = _data(
            await agent.call_tool(
                "get_planning_kit", {"project_id": "lantern", "version": 1, "feedback": "Drop the map"}
            )
        )
        assert kit["mode"] == "revise"
        assert kit["previous"]["version"] == 1
        assert kit["feedback"] == "Drop the map"
        revised = without_feature(valid_answer(), "map-screen")
        unanswered = await agent.call_tool(
            "submit_plan_draft",
            {"project_id": "lantern", "agent_id": "claude", "draft": revised, "version": 1, "feedback": "Drop the map"},
        )
        assert "feedback_unanswered" in {p["type"] for p in _data(unanswered)["problems"]}
        revised["feedback"] = [{"point": "Drop the map", "handled": "removed the map screen task"}]
        second = _data(
            await agent.call_tool(
                "submit_plan_draft",
                {
                    "project_id": "lantern",
                    "agent_id": "claude",
                    "draft": revised,
                    "version": 1,
                    "feedback": "Drop the map",
                },
            )
        )
        assert second["version"] == 2
    plan = client.get("/api/v1/projects/lantern/plans/2").json()
    assert plan["created_by"] == "ai"
    assert plan["based_on_version"] == 1
    assert plan["provenance"]["planner"] == "agent:claude"
    assert plan["status"] == "proposed"
    assert plan["feedback"]["text"] == "Drop the map"
    diff = client.get("/api/v1/projects/lantern/plans/diff", params={"from": 1, "to": 2}).json()
    assert "Build map screen" in [t["title"] for t in diff["removed"]]


async def test_an_llm_revision_asked_over_mcp_is_a_job(llm_client, fake_llm: FakeLLM):
    create_project(llm_client)
    assert llm_client.post("/api/v1/projects/lantern/plans", json={"planner": "template"}).status_code == 201
    llm_client.post("/api/v1/projects/lantern/plans/1/accept")
    revised = valid_answer()
    revised["feedback"] = [{"point": "more bosses", "handled": "added a boss task"}]
    fake_llm.queue(Answer(data=revised))
    server = llm_client.app.state  # the app's own MCP server, in process
    from gateway.app.mcp.server import build_server

    mcp = build_server(db=server.db, store=server.store, settings=server.settings)
    async with Client(mcp) as agent:
        answer = _data(
            await agent.call_tool(
                "propose_plan_revision", {"project_id": "lantern", "agent_id": "codex", "feedback": "more bosses"}
            )
        )
        assert answer["based_on_version"] == 1
        assert answer["job"]["kind"] == "revise"
        job_id = answer["job"]["id"]
        done = wait_for_job(llm_client, job_id)
        assert done["status"] == "done"
        seen = _data(await agent.call_tool("get_job", {"project_id": "lantern", "job_id": job_id}))
        assert seen["plan_version"] == 2
        missing = await agent.call_tool("get_job", {"project_id": "lantern", "job_id": "nope"})
        assert missing.is_error
