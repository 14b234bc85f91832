"""The MCP server with the SDK's own client: in process, over stdio (a subprocess) and over HTTP (uvicorn)."""

import base64
import json
import sys
from pathlib import Path
from unittest.mock import ANY

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from sqlmodel import select

from gateway.app.db import TaskDB
from tests import samples

pytestmark = pytest.mark.anyio


def payload(result) -> dict:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


async def work_one_task(client: Client, agent_id: str, *, project_id: str = "crates") -> dict | None:
    """What an agent does with one task: claim it, hand in each deliverable, complete it."""
    claimed = payload(await client.call_tool("claim_task", {"project_id": project_id, "agent_id": agent_id}))
    assert set(claimed) == {"claimed", "reason", "briefing", "project", "notices"}  # one shape, ready or not
    if not claimed["claimed"]:
        assert claimed["briefing"] is None
        assert claimed["reason"]
        return None
    briefing = claimed["briefing"]
    task = briefing["task"]
    assert task["status"] == "in_progress"
    for n, deliverable in enumerate(d for d in task["deliverables"] if d["required"]):
        name, data = samples.file_for(deliverable["category"], f"{task['code'].lower()}-{n}")
        arguments = {
            "project_id": project_id,
            "agent_id": agent_id,
            "task": task["code"],
            "name": name,
            "category": deliverable["category"],
            "path": deliverable["name"],
        }
        if name.endswith(".png"):
            arguments["content_base64"] = base64.b64encode(data).decode()
        else:
            arguments["content"] = data.decode()
        report = payload(await client.call_tool("submit_artifact", arguments))
        assert report["validation_status"] == "valid", report
    done = payload(
        await client.call_tool(
            "complete_task",
            {"project_id": project_id, "agent_id": agent_id, "task": task["code"], "summary": f"{agent_id} did it"},
        )
    )
    assert done["task"]["status"] == "done"
    return briefing


async def work_until_completed(client: Client, agent_id: str) -> list[str]:
    done = []
    while (briefing := await work_one_task(client, agent_id)) is not None:
        done.append(briefing["task"]["code"])
    return done


async def test_the_tool_list_is_small_typed_and_documented(server):
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        size = len((await client.list_tools()).model_dump_json(by_alias=True, exclude_unset=True).encode())
    names = {tool.name for tool in tools}
    assert {"list_projects", "project_status", "get_task", "claim_task", "complete_task", "submit_artifact"} <= names
    assert len(tools) <= 15
    # peers ship 16k-50k tokens of tool descriptions; this is ~21 kB (~5k tokens): ~11 kB of tools and arguments
    # (the context shape and planning tools included) and ~10 kB of output schemas (mcp/answers.py)
    assert size < 22_000, size
    for tool in tools:
        assert tool.description, tool.name
        assert "\n" not in tool.description.strip(), tool.name
        assert not any(word in tool.name for word in ("delete", "wipe", "accept"))


async def test_an_agent_works_a_whole_plan_in_process(server, project, client):
    async with Client(server) as agent:
        status = payload(await agent.call_tool("project_status", {"project_id": project}))
        assert status["plan"]["version"] == 1
        first = await work_one_task(agent, "solo")
        assert first["tools"], "the suggested MCP tools are resolved against the catalogue"
        assert all(tool["tools"] for tool in first["tools"])
        assert first["context"]["task"] is None  # nothing added by hand: the task and its inputs are in the briefing
        assert first["context"]["global"]["game"]["engine"] == "phaser"
        rest = await work_until_completed(agent, "solo")
        final = payload(await agent.call_tool("project_status", {"project_id": project}))
    assert final["status"] == "completed"
    assert len(rest) + 1 == final["plan"]["tasks"]
    history = client.get("/api/v1/projects/crates/context/versions?limit=200").json()["items"]
    assert len(history) > final["plan"]["tasks"]  # the context grew with every completed task
    assert {item["source"] for item in history} == {"template-default", "ai-generate"}


async def test_refusals_are_tool_errors_with_the_rest_reason_and_the_session_survives(server, project):
    async with Client(server) as agent:
        missing = await agent.call_tool("get_task", {"project_id": "crates", "task": "T-999"})
        assert missing.is_error
        assert "not-found" in missing.content[0].text
        briefing = payload(await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "a1"}))["briefing"]
        code = briefing["task"]["code"]
        early = await agent.call_tool(
            "complete_task", {"project_id": "crates", "agent_id": "a1", "task": code, "summary": "too soon"}
        )
        assert early.is_error
        assert "deliverables-missing" in early.content[0].text
        other = await agent.call_tool(
            "complete_task", {"project_id": "crates", "agent_id": "a2", "task": code, "summary": "not mine"}
        )
        assert other.is_error
        assert "claimed by a1" in other.content[0].text
        bad_args = await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "has spaces"})
        assert bad_args.is_error
        both = await agent.call_tool(
            "submit_artifact",
            {"project_id": "crates", "agent_id": "a1", "name": "x.md", "content": "a", "content_base64": "YQ=="},
        )
        assert both.is_error
        bad_edit = await agent.call_tool(
            "propose_plan_revision", {"project_id": "crates", "agent_id": "a1", "edits": [{"op": "explode"}]}
        )
        assert bad_edit.is_error
        assert "validation-error" in bad_edit.content[0].text
        # nothing was half-written, and the session still works
        status = payload(await agent.call_tool("project_status", {"project_id": "crates"}))
        assert status["counts"]["in_progress"] == 1
        assert (
            payload(await agent.call_tool("get_task", {"project_id": "crates", "task": code}))["task"]["artifacts"]
            == []
        )


async def test_context_updates_and_plan_proposals_stay_with_the_rules(server, project, client):
    async with Client(server) as agent:
        read = payload(await agent.call_tool("get_context", {"project_id": "crates"}))
        update = {
            "project_id": "crates",
            "agent_id": "a1",
            "base_version": read["version"],
            "patch": {"glossary": {"crate": "a pushable box"}},
        }
        written = payload(await agent.call_tool("update_context", update))
        assert written["version"] == read["version"] + 1
        stale = await agent.call_tool("update_context", update)
        assert stale.is_error
        assert "precondition-failed" in stale.content[0].text
        proposal = payload(
            await agent.call_tool(
                "propose_plan_revision",
                {
                    "project_id": "crates",
                    "agent_id": "a1",
                    "feedback": "Undo needs its own task",
                    "edits": [{"op": "edit", "code": "T-002", "changes": {"priority": 5}}],
                },
            )
        )
        assert (proposal["version"], proposal["status"], proposal["based_on_version"]) == (2, "proposed", 1)
    latest = client.get("/api/v1/projects/crates/context").json()
    assert (latest["source"], latest["created_by"]) == ("ai-generate", "ai")
    assert client.get("/api/v1/projects/crates/plans/active").json()["version"] == 1  # accepting stays with the user


async def test_resources_and_the_prompt(server, project):
    async with Client(server) as agent:
        templates = {t.uri_template for t in (await agent.list_resource_templates()).resource_templates}
        assert "gateway://projects/{project_id}/context" in templates
        plan = json.loads((await agent.read_resource("gateway://projects/crates/plan")).contents[0].text)
        assert plan["version"] == 1
        assert plan["tasks"][0]["code"] == "T-001"
        assert [m["key"] for m in plan["milestones"]][:2] == ["prototype", "vertical-slice"]
        assert plan["tasks"][0]["milestone"] == "prototype"
        assert {t["milestone"] for t in plan["tasks"]} == {m["key"] for m in plan["milestones"]}
        status = payload(await agent.call_tool("project_status", {"project_id": "crates"}))
        assert status["milestones"][0] == {"key": "prototype", "title": "Prototype", "tasks": ANY, "done": 0}
        briefing = payload(await agent.call_tool("get_task", {"project_id": "crates", "task": "T-001"}))
        assert briefing["task"]["milestone"]["key"] == "prototype"
        assert briefing["task"]["milestone"]["goal"].startswith("The core loop")
        context = json.loads((await agent.read_resource("gateway://projects/crates/context")).contents[0].text)
        assert context["game"]["genre"] == "puzzle"
        prompt = await agent.get_prompt("work_on_project", {"project_id": "crates", "agent_id": "a1"})
        assert "claim_task" in prompt.messages[0].content.text


async def test_over_stdio_against_a_real_subprocess(project, database_url, tmp_path: Path):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gateway", "mcp"],
        cwd=str(tmp_path),
        env={"GATEWAY_DATABASE_URL": database_url, "GATEWAY_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"},
    )
    async with Client(params) as agent:
        assert len((await agent.list_tools()).tools) >= 10
        done = await work_until_completed(agent, "stdio-agent")
        status = payload(await agent.call_tool("project_status", {"project_id": "crates"}))
    assert status["status"] == "completed"
    assert len(done) == status["plan"]["tasks"]


async def test_two_agents_over_http_never_get_the_same_task(project, live_server):
    url = f"{live_server.url}/mcp"
    done: dict[str, list[str]] = {}

    async def run(agent_id: str) -> None:
        async with Client(url) as agent:
            done[agent_id] = await work_until_completed(agent, agent_id)

    async with anyio.create_task_group() as group:
        group.start_soon(run, "http-1")
        group.start_soon(run, "http-2")
    codes = done["http-1"] + done["http-2"]
    assert len(codes) == len(set(codes))  # never the same task twice
    async with Client(url) as agent:
        status = payload(await agent.call_tool("project_status", {"project_id": "crates"}))
    assert status["status"] == "completed"
    assert len(codes) == status["plan"]["tasks"]


async def test_the_http_endpoint_refuses_foreign_hosts(project, live_server):
    import httpx2

    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{live_server.url}/mcp",
            headers={
                "Host": "evil.example",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
            content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
        )
    assert response.status_code == 421


async def test_paths_and_odd_task_refs_are_refused_by_the_service(server, project):
    async with Client(server) as agent:
        escape = await agent.call_tool(
            "submit_artifact",
            {
                "project_id": "crates",
                "agent_id": "a1",
                "name": "x.md",
                "content": "# x",
                "path": "/etc/../../root/.ssh/keys",
            },
        )
        assert escape.is_error
        assert "validation-error" in escape.content[0].text
        odd = await agent.call_tool("get_task", {"project_id": "crates", "task": "²"})
        assert odd.is_error
        assert "not-found" in odd.content[0].text


async def test_a_briefing_leaves_out_the_plan_acceptance_records(server, project, client):
    client.patch(
        "/api/v1/projects/crates/context",
        json=[{"op": "add", "path": "/decisions/-", "value": {"what": "Undo is unlimited"}}],
        headers={"content-type": "application/json-patch+json"},
    ).raise_for_status()
    async with Client(server) as agent:
        briefing = payload(await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "a1"}))["briefing"]
    assert [d["what"] for d in briefing["context"]["decisions"]] == ["Undo is unlimited"]
    text = json.dumps(briefing)
    assert text.count('"game"') == 1  # each fact once: not copied into the task context
    assert text.count('"acceptance_criteria"') == 1


async def test_get_task_without_a_task_answers_with_the_callers_own_claimed_task(server, project):
    async with Client(server) as agent:
        ready = payload(await agent.call_tool("project_status", {"project_id": "crates"}))["ready"]
        assert len(ready) >= 2
        # a1 takes a task that is not the project's current one: its next get_task must show that task
        claimed = await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "a1", "task": ready[1]})
        held = payload(claimed)["briefing"]["task"]["code"]
        mine = payload(await agent.call_tool("get_task", {"project_id": "crates", "agent_id": "a1"}))
        assert mine["task"]["code"] == held
        assert mine["task"]["claimed_by"] == "a1"
        current = payload(await agent.call_tool("get_task", {"project_id": "crates", "agent_id": "a2"}))
        assert current["task"]["code"] != held  # a2 holds nothing: the current task, unclaimed
        assert current["task"]["claimed_by"] is None


async def test_one_error_style_names_the_argument_the_agent_sent(server, project):
    async with Client(server) as agent:
        outside = await agent.call_tool(
            "submit_artifact",
            {"project_id": "crates", "agent_id": "a1", "name": "x.md", "content": "# x", "path": "../outside.md"},
        )
        assert outside.is_error
        assert "body" not in outside.content[0].text
        lease = await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "a1", "lease_seconds": 0})
        assert lease.is_error
        text = lease.content[0].text
        assert text.startswith("validation-error: lease_seconds: ")
        assert "pydantic" not in text
        assert "http" not in text
        unknown = await agent.call_tool("project_status", {"project_id": "crates", "verbose": True})
        assert unknown.is_error
        assert "verbose: not an argument of project_status" in unknown.content[0].text
        with pytest.raises(MCPError) as missing:
            await agent.read_resource("gateway://projects/crates/tasks/T-999/context")
        assert missing.value.error.code == -32002
        with pytest.raises(MCPError) as bad_prompt:
            await agent.get_prompt("work_on_project", {"project_id": "crates"})
        assert bad_prompt.value.error.code == -32602
        assert "agent_id" in bad_prompt.value.error.message
        prompt = (await agent.list_prompts()).prompts[0]
    assert all(argument.description for argument in prompt.arguments)


async def test_an_agent_whose_task_a_replan_dropped_is_told_on_its_next_call(server, project, client):
    async with Client(server) as agent:
        held = payload(await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "agent-b"}))
        code = held["briefing"]["task"]["code"]
        client.post(
            "/api/v1/projects/crates/plans/1/revisions", json={"edits": [{"op": "remove", "code": code}]}
        ).raise_for_status()
        client.post("/api/v1/projects/crates/plans/2/accept").raise_for_status()
        complete = await agent.call_tool(
            "complete_task", {"project_id": "crates", "agent_id": "agent-b", "task": code, "summary": "done"}
        )
        assert complete.is_error
        assert complete.content[0].text.startswith("task-withdrawn: ")
        assert "re-plan" in complete.content[0].text
        again = payload(await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "agent-b"}))
    assert again["claimed"]
    assert again["briefing"]["task"]["code"] != code
    assert [n["task"] for n in again["notices"]] == [code]


async def test_agents_append_decisions_without_losing_each_others(server, project, client):
    async with Client(server) as one, Client(server) as two:
        tool = next(t for t in (await one.list_tools()).tools if t.name == "update_context")
        assert "decisions" in tool.input_schema["properties"]["append"]["description"]
        for agent, what in ((one, "Crates snap to a 32 px grid"), (two, "Undo is unlimited")):
            written = await agent.call_tool(
                "update_context",
                {"project_id": "crates", "agent_id": "a1", "append": {"decisions": [{"what": what}]}},
            )
            assert not written.is_error, written.content[0].text
    decisions = client.get("/api/v1/projects/crates/context").json()["content"]["decisions"]
    assert [d["what"] for d in decisions[-2:]] == ["Crates snap to a 32 px grid", "Undo is unlimited"]


async def test_an_argument_with_a_nul_character_is_a_tool_error_that_changes_nothing(server, project, db):
    async with Client(server) as agent:
        claimed = payload(await agent.call_tool("claim_task", {"project_id": "crates", "agent_id": "a1"}))
        code = claimed["briefing"]["task"]["code"]
        refused = await agent.call_tool(
            "block_task", {"project_id": "crates", "agent_id": "a1", "task": code, "reason": "no engine\u0000"}
        )
        assert refused.is_error
        assert "NUL" in refused.content[0].text
        odd = await agent.call_tool("get_task", {"project_id": "crates\u0000", "task": "T-001"})
        assert odd.is_error
        assert "NUL" in odd.content[0].text
    with db.read_session() as session:
        assert session.exec(select(TaskDB.status).where(TaskDB.code == code)).one() == "in_progress"


@pytest.mark.parametrize("ref", ["99999999999999999999", "9223372036854775808", "2147483648"])
async def test_a_task_number_past_any_id_is_not_found_not_an_internal_error(server, project, ref):
    """A digit-only task ref beyond what the database stores was an OverflowError: -32603 / an internal error."""
    async with Client(server) as agent:
        with pytest.raises(MCPError) as missing:
            await agent.read_resource(f"gateway://projects/crates/tasks/{ref}/context")
        assert missing.value.error.code == -32002
        answer = await agent.call_tool("get_task", {"project_id": "crates", "task": ref})
        assert answer.is_error
        assert answer.content[0].text.startswith("not-found: ")
