"""The README's MCP configurations, with a token, work against a real gateway (HTTP and stdio)."""

import json
import os
import re
import shlex
import textwrap
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.main import create_app
from tests.auth.conftest import issue, make_project
from tests.conftest import LiveServer

pytestmark = [pytest.mark.sqlite_only, pytest.mark.anyio]
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PLACEHOLDER = "gw_YOUR_AGENT_TOKEN"
PROJECT = "star-courier"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _section() -> str:
    return README[README.index("## Connecting AI coding agents (MCP)") : README.index("## Real-time events")]


@pytest.fixture
def served(tmp_path: Path):
    """A gateway in required mode on a real port, its database, and an agent token for star-courier."""
    database_url = f"sqlite:///{tmp_path / 'data' / 'gateway.db'}"
    db = DatabaseManager(database_url)
    db.init_db()
    make_project(db, PROJECT)
    make_project(db, "someone-elses")
    token = issue(db, "agent", "claude-1", projects=[PROJECT])
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", auth="required")
    with LiveServer(create_app(settings, db=db)) as live:
        yield live, token, tmp_path
    db.dispose()


async def _claims_as_its_token(client: Client) -> None:
    result = await client.call_tool("claim_task", {"project_id": PROJECT})
    assert not result.is_error, result.content[0].text
    briefing = json.loads(result.content[0].text)["briefing"]
    assert briefing["task"]["claimed_by"] == "claude-1"
    other = await client.call_tool("project_status", {"project_id": "someone-elses"})
    assert other.is_error
    assert "forbidden" in other.content[0].text
    # resources/list names the resources of its token's projects only, whichever transport it came in by.
    listed = {str(r.uri) for r in (await client.list_resources()).resources}
    assert listed == {f"gateway://projects/{PROJECT}/context", f"gateway://projects/{PROJECT}/plan"}


async def test_the_http_configurations(served):
    live, token, _ = served
    configs = [json.loads(b) for b in _blocks("json") if '"url"' in b]
    assert configs, "the README lost its HTTP configuration"
    for config in configs:
        entry = config["mcpServers"]["gateway"]
        url = entry["url"].replace("http://127.0.0.1:8000", live.url)
        headers = {k: v.replace(PLACEHOLDER, token) for k, v in entry["headers"].items()}
        async with Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers))) as client:
            await _claims_as_its_token(client)
        # Without the header: refused.
        async with httpx2.AsyncClient() as http:
            refused = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401

    claude = next(line for line in _section().splitlines() if line.startswith("claude mcp add --transport http"))
    words = shlex.split(claude)
    url = words[words.index("gateway") + 1].replace("http://127.0.0.1:8000", live.url)
    name, _, value = words[words.index("--header") + 1].partition(": ")
    http = httpx2.AsyncClient(headers={name: value.replace(PLACEHOLDER, token)})
    async with Client(streamable_http_client(url, http_client=http)) as client:
        result = await client.call_tool("list_projects", {})
        assert [p["id"] for p in json.loads(result.content[0].text)] == [PROJECT]


async def test_the_python_snippet(served):
    live, token, _ = served
    (snippet,) = [b for b in _blocks("python") if "streamable_http_client" in b]
    code = snippet.replace("http://127.0.0.1:8000", live.url).replace(PLACEHOLDER, token)
    namespace: dict = {}
    exec("async def snippet():\n" + textwrap.indent(code, "    ") + "\n    return briefing", namespace)
    result = await namespace["snippet"]()
    assert json.loads(result.content[0].text)["briefing"]["task"]["claimed_by"] == "claude-1"


def _stdio(command: str, args: list[str], env: dict[str, str], token: str, data: Path) -> StdioServerParameters:
    def fill(text: str) -> str:
        return (
            text.replace("/ABS/PATH/gateway/data", str(data))
            .replace("/ABS/PATH/gateway", str(ROOT))
            .replace(PLACEHOLDER, token)
        )

    inherited = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return StdioServerParameters(
        command=fill(command), args=args, env={**inherited, **{k: fill(v) for k, v in env.items()}}
    )


async def test_the_stdio_configurations(served):
    _live, token, tmp_path = served
    data = tmp_path / "data"
    configs = [json.loads(b) for b in _blocks("json") if '"command"' in b]
    assert configs
    servers = [
        _stdio(
            c["mcpServers"]["gateway"]["command"],
            c["mcpServers"]["gateway"]["args"],
            c["mcpServers"]["gateway"]["env"],
            token,
            data,
        )
        for c in configs
    ]
    claude = _section()[_section().index("claude mcp add gateway --env") :]
    words = shlex.split(claude[: claude.index("```")].replace("\\\n", " "))
    env = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--env")
    command, *args = words[words.index("--") + 1 :]
    servers.append(_stdio(command, args, env, token, data))
    for params in servers:
        assert params.env["GATEWAY_TOKEN"] == token
        with anyio.fail_after(60):
            async with Client(params) as client:
                status = await client.call_tool("project_status", {"project_id": PROJECT})
                assert not status.is_error, status.content[0].text
                released = await client.call_tool("list_projects", {})
                assert [p["id"] for p in json.loads(released.content[0].text)] == [PROJECT]
