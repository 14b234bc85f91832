"""Every route of the app and every MCP tool, for every kind of caller → allowed or refused, as the rules say.

The rules are restated here by hand (EXPECTED), independently of gateway/app/auth/policy.py: a route or tool
whose action is not in EXPECTED, or that has no action at all, fails these tests.
"""

import json
import re

import pytest
from sqlalchemy import func
from sqlmodel import select

from gateway.app.auth import policy
from gateway.app.auth.gate import policy_keys, route_table
from gateway.app.db import EventDB, ProjectDB, TaskDB
from gateway.app.schemas.artifacts import ArtifactCreate
from gateway.app.services import artifacts, jobs
from tests.auth.conftest import HERE, Cast, bearer, make_project

ANON, AH, AT, UH, UT, AD = "anonymous", "agent_here", "agent_there", "user_here", "user_there", "admin"
EVERYBODY = frozenset({ANON, AH, AT, UH, UT, AD})
AUTHENTICATED = EVERYBODY - {ANON}
MEMBERS = frozenset({AH, UH, AD})  # whoever works on this project
PEOPLE_HERE = frozenset({UH, AD})  # the people who decide in this project

# The rules of issue 12, one line per action (who may, on project HERE).
EXPECTED: dict[str, frozenset[str]] = {
    "public": EVERYBODY,
    "catalogue.read": AUTHENTICATED,
    "project.list": AUTHENTICATED,
    "project.create": frozenset({UH, UT, AD}),
    "project.read": MEMBERS,
    "project.update": PEOPLE_HERE,
    "project.delete": PEOPLE_HERE,
    "member.read": PEOPLE_HERE,
    "member.manage": PEOPLE_HERE,
    "plan.read": MEMBERS,
    "plan.propose": MEMBERS,
    "plan.revise": MEMBERS,
    "plan.edit": MEMBERS,
    "plan.accept": PEOPLE_HERE,
    "plan.reject": PEOPLE_HERE,
    "task.read": MEMBERS,
    "task.create": PEOPLE_HERE,
    "task.update": PEOPLE_HERE,
    "task.delete": PEOPLE_HERE,
    "task.claim": MEMBERS,
    "task.release": MEMBERS,
    "task.start": MEMBERS,
    "task.block": MEMBERS,
    "task.complete": MEMBERS,
    "task.unblock": PEOPLE_HERE,
    "task.approve": PEOPLE_HERE,
    "task.reopen": PEOPLE_HERE,
    "task.cancel": PEOPLE_HERE,
    "context.read": MEMBERS,
    "context.write": MEMBERS,
    "context.restore": PEOPLE_HERE,
    "artifact.read": MEMBERS,
    "artifact.create": MEMBERS,
    "artifact.validate": MEMBERS,
    "artifact.update": PEOPLE_HERE,
    "artifact.delete": PEOPLE_HERE,
    "event.read": MEMBERS,
    "event.read_all": frozenset({AD}),
    "mcp.connect": AUTHENTICATED,
    "token.manage": frozenset({AD}),
}

PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


def _all_keys(app) -> list[str]:
    return [key for entry in route_table(app.routes) for key in policy_keys(entry)]


def test_every_route_has_a_decision_and_every_decision_a_rule(secure_app):
    keys = _all_keys(secure_app)
    undecided = [key for key in keys if key not in policy.ROUTES]
    assert not undecided, f"routes without an authorization decision (add them to policy.ROUTES): {undecided}"
    assert not [key for key in policy.ROUTES if key not in keys], "decisions for routes that no longer exist"
    unknown = {action for action in policy.ROUTES.values() if action not in EXPECTED}
    assert not unknown, f"actions without an expected rule in this test: {unknown}"
    assert set(policy.ACTIONS) == set(EXPECTED)


def test_a_route_without_a_decision_is_refused_to_all_but_administrators(secure_app, secure_client, cast: Cast):
    @secure_app.get("/api/v1/undecided")
    def undecided() -> dict:
        return {"ok": True}

    assert "GET /api/v1/undecided" in _all_keys(secure_app)
    assert "GET /api/v1/undecided" not in policy.ROUTES
    refused = secure_client.get("/api/v1/undecided", headers=bearer(cast.user_here))
    assert refused.status_code == 403
    assert refused.json()["permission"] == "undecided"
    assert secure_client.get("/api/v1/undecided", headers=bearer(cast.admin)).status_code == 200


def _ids(db) -> dict[str, str]:
    with db.get_session() as session:
        task = session.exec(select(TaskDB).where(TaskDB.project_id == HERE).order_by(TaskDB.id)).first()
        artifact = artifacts.create(
            session=session, project_id=HERE, data=ArtifactCreate(name="notes.md", path="docs/notes.md")
        )
        job = jobs.submit(
            session, project_id=HERE, kind="propose", request={}, base_version=None, actor="user", max_attempts=1
        )
        ids = {"task_id": str(task.id), "artifact_id": str(artifact.id), "job_id": job.id}
        session.commit()
        # Finished before the app starts, so no worker runs it and writes while refused requests are counted.
        jobs.cancel(session=session, job_id=ids["job_id"])
    return {
        "project_id": HERE,
        "task_id": ids["task_id"],
        "version": "1",
        "artifact_id": ids["artifact_id"],
        "job_id": ids["job_id"],
        "slug": "not-found",
        "name": "godot",
        "token_id": "999999",
        "kind": "user",
    }


def _url(key: str, ids: dict[str, str], *, project_id: str | None = None) -> tuple[str, str]:
    method, path = key.split(" ", 1)
    values = {**ids, **({"project_id": project_id} if project_id else {})}
    return method, PARAM.sub(lambda m: values[m.group(1)], path)


def _send(client, method: str, url: str, token: str | None):
    headers = {**bearer(token), "Content-Type": "application/json"}
    if method == "ANY":
        # The MCP endpoint: a JSON-RPC ping (the SDK answers it or says what it lacks, never 401/403).
        headers["Accept"] = "application/json, text/event-stream"
        return client.post(url, headers=headers, content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
    # A body that every input model refuses (unknown field): an allowed request stops at validation.
    body = b'{"__matrix__": 1}' if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, url, headers=headers, content=body)


def _events(db) -> int:
    with db.read_session() as session:
        return session.exec(select(func.count()).select_from(EventDB)).one()


def test_every_route_for_every_caller(secure_client, cast: Cast, db):
    ids = _ids(db)
    refused, allowed = [], []
    for key in _all_keys(secure_client.app):
        action = policy.ROUTES[key]
        for who, token in cast.items():
            (allowed if who in EXPECTED[action] else refused).append((key, action, who, token))

    # Refusals first: together they must not write a single row.
    before = _events(db)
    for key, action, who, token in refused:
        if key.startswith("WS "):
            continue
        method, url = _url(key, ids)
        response = _send(secure_client, method, url, token)
        expected = 401 if who == ANON else 403
        assert response.status_code == expected, (key, who, response.status_code, response.text[:300])
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        if expected == 401:
            assert response.headers["www-authenticate"].startswith('Bearer realm="gateway"')
            assert problem["type"] == "/problems/unauthorized"
        else:
            assert problem["type"] == "/problems/forbidden"
            assert problem["permission"] == action, (key, who, problem)
    assert _events(db) == before, "a refused request wrote something"
    with db.read_session() as session:
        assert session.get(ProjectDB, HERE) is not None

    for n, (key, _action, who, token) in enumerate(allowed):
        if key.startswith("WS "):
            continue
        project_id = None
        if key == "DELETE /api/v1/projects/{project_id}":
            # Deleting is allowed here: prove it on a project of its own, made for this caller.
            project_id = f"doomed-{n}"
            make_project(db, project_id, accept=False)
            from gateway.app.auth import tokens

            with db.get_session() as session:
                tokens.add_member(session=session, project_id=project_id, name="ada")
        method, url = _url(key, ids, project_id=project_id)
        response = _send(secure_client, method, url, token)
        if key == "GET /api/v1/session" and who == ANON:
            assert response.status_code == 401  # "who am I?" asked by nobody: not logged in
            continue
        assert response.status_code not in (401, 403), (key, who, response.status_code, response.text[:300])


def test_every_stream_for_every_caller(secure_client, cast: Cast):
    from starlette.websockets import WebSocketDisconnect

    for key in [k for k in _all_keys(secure_client.app) if k.startswith("WS ")]:
        action = policy.ROUTES[key]
        _method, url = _url(key, {"project_id": HERE})
        for who, token in cast.items():
            query = f"?token={token}" if token else ""
            with secure_client.websocket_connect(url + query) as ws:
                if who in EXPECTED[action]:
                    assert json.loads(ws.receive_text())["kind"] == "hello", (key, who)
                    continue
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_text()
                assert closed.value.code == (4401 if who == ANON else 4403), (key, who)


# --- MCP: every tool (and resource, and prompt) for every caller, over HTTP --------------------------------

TOOL_ARGUMENTS = {
    "list_projects": {},
    "project_status": {"project_id": HERE},
    "get_task": {"project_id": HERE},
    "claim_task": {"project_id": HERE, "start": False},
    "release_task": {"project_id": HERE, "task": "T-999"},
    "block_task": {"project_id": HERE, "task": "T-999", "reason": "matrix"},
    "complete_task": {"project_id": HERE, "task": "T-999", "summary": "matrix"},
    "submit_artifact": {"project_id": HERE, "name": "m.md", "content": "# m"},
    "get_artifact": {"project_id": HERE, "artifact_id": 999999},
    "get_context": {"project_id": HERE},
    "update_context": {"project_id": HERE, "patch": {}, "base_version": 999},
    "propose_plan_revision": {"project_id": HERE, "version": 999},
    "get_job": {"project_id": HERE, "job_id": "0" * 32},
    "get_planning_kit": {"project_id": HERE},
    "submit_plan_draft": {"project_id": HERE, "draft": {"summary": "matrix", "tasks": []}},
}
RESOURCES = {
    "global_context": f"gateway://projects/{HERE}/context",
    "task_context": f"gateway://projects/{HERE}/tasks/T-001/context",
    "active_plan": f"gateway://projects/{HERE}/plan",
}


def mcp_client(url: str, token: str | None):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers=bearer(token), timeout=30)
    return Client(streamable_http_client(f"{url}/mcp", http_client=http))


def _refusal(text: str) -> str | None:
    for kind in ("unauthorized", "forbidden"):
        if text.startswith(f"{kind}:") or f": {kind}: " in text:
            return kind
    return None


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_every_tool_resource_and_prompt_is_decided(db, settings, anyio_backend):
    from mcp import Client

    from gateway.app.mcp.server import build_server
    from gateway.app.storage import BlobStore

    server = build_server(db=db, store=BlobStore(settings.artifacts_dir), settings=settings)
    async with Client(server) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        templates = {t.name for t in (await client.list_resource_templates()).resource_templates}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
    assert tools == set(TOOL_ARGUMENTS), "a tool was added: give it a decision (policy.TOOLS) and arguments here"
    assert templates == set(RESOURCES)
    assert set(policy.TOOLS) == tools | templates | prompts, "a tool, resource or prompt without a decision"
    assert {policy.TOOLS[name] for name in policy.TOOLS} <= set(EXPECTED)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_every_tool_for_every_caller(secure_app, cast: Cast, anyio_backend):
    import httpx2
    from mcp.shared.exceptions import MCPError

    from tests.conftest import LiveServer

    with LiveServer(secure_app) as live:
        async with httpx2.AsyncClient() as http:
            anonymous = await http.post(
                f"{live.url}/mcp",
                headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
                content=b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
            )
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for who, token in cast.items():
            if token is None:
                continue
            async with mcp_client(live.url, token) as client:
                listed = {tool.name for tool in (await client.list_tools()).tools}
                assert listed == set(TOOL_ARGUMENTS), "a tool was added: give it arguments and a decision here"
                for tool, arguments in TOOL_ARGUMENTS.items():
                    result = await client.call_tool(tool, arguments)
                    refusal = _refusal(result.content[0].text) if result.is_error else None
                    allowed = who in EXPECTED[policy.TOOLS[tool]]
                    assert (refusal is None) == allowed, (tool, who, result.content[0].text[:200])
                    if not allowed:
                        assert refusal == "forbidden"
                for resource, uri in RESOURCES.items():
                    allowed = who in EXPECTED[policy.TOOLS[resource]]
                    try:
                        await client.read_resource(uri)
                        refused = False
                    except MCPError as exc:
                        refused = "forbidden" in str(exc)
                    assert refused != allowed, (resource, who)
                try:
                    await client.get_prompt("work_on_project", {"project_id": HERE, "agent_id": "x"})
                    refused = False
                except MCPError as exc:
                    refused = "forbidden" in str(exc)
                assert refused != (who in EXPECTED[policy.TOOLS["work_on_project"]]), ("work_on_project", who)


def test_a_resource_outside_a_project_path_names_its_project_through_a_resolver(
    secure_app, secure_client, cast: Cast, monkeypatch
):
    @secure_app.get("/api/v1/widgets/{widget_id}")
    def widget(widget_id: str) -> dict:
        return {"id": widget_id}

    monkeypatch.setitem(policy.ROUTES, "GET /api/v1/widgets/{widget_id}", "project.read")
    monkeypatch.setitem(policy.PROJECT_OF, "widget_id", lambda _session, value: HERE if value == "1" else None)
    assert secure_client.get("/api/v1/widgets/1", headers=bearer(cast.user_here)).status_code == 200
    assert secure_client.get("/api/v1/widgets/1", headers=bearer(cast.agent_here)).status_code == 200
    assert secure_client.get("/api/v1/widgets/1", headers=bearer(cast.user_there)).status_code == 403
    assert secure_client.get("/api/v1/widgets/2", headers=bearer(cast.user_here)).status_code == 403
    assert secure_client.get("/api/v1/widgets/2", headers=bearer(cast.admin)).status_code == 200
