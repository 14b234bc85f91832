"""The MCP server through which AI coding agents work a project: few tools, typed, over the same services.

One definition serves both transports: stdio (`gateway mcp`) and streamable HTTP at `/mcp` in the app.
Each group of tools sits in the module of its kind (`tools_projects`, `tools_tasks`, `tools_artifacts`,
`tools_contexts`, `tools_plans`), next to `resources` and `prompts`; this module assembles them. Every tool
call runs in a worker thread (the SDK does that for plain functions), is one use case of a service, logs its
correlation id, agent and duration, and turns a refused request into an MCP tool error with the same reason the
REST API gives. No tool deletes anything or accepts a plan: that stays with users.
"""

from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ListResourcesResult, PaginatedRequestParams, Resource
from pydantic import ValidationError

from gateway import __version__
from gateway.app.auth.principal import LOCAL_USER, Principal
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.mcp import (
    prompts,
    resources,
    tools_artifacts,
    tools_contexts,
    tools_plans,
    tools_projects,
    tools_tasks,
)
from gateway.app.mcp.common import Deps, validation_message
from gateway.app.storage import BlobStore

INSTRUCTIONS = """\
Gateway coordinates the work on a video game project. Workflow: project_status → claim_task (claims the
next ready task, starts it and returns its briefing: description, acceptance criteria, deliverables,
dependencies' results, context and suggested MCP tools) → do the work → submit_artifact for each
deliverable (fix any that come back invalid) → complete_task with a summary → claim_task again.
Use block_task when stuck, update_context to record decisions and conventions, propose_plan_revision to
suggest plan changes (a user accepts them). Task refs are codes like T-004.
"""

# The order here is the order of tools/list: an agent reads them from the first step of the workflow on.
GROUPS = (tools_projects, tools_tasks, tools_artifacts, tools_contexts, tools_plans, resources, prompts)


class GatewayServer(MCPServer):
    """The SDK's server with the gateway's protocol manners: one error style for every refusal.

    A tool call with an argument the tool does not take is refused, naming it; invalid arguments come back as
    `validation-error: argument: problem; …` (no pydantic dump, no documentation links, no SDK prefix); a prompt
    asked for without its required arguments is an invalid-params JSON-RPC error. `resources/list` names the
    resources that exist now (each project's context and plan), not only the templates.
    """

    # What exists now, for the caller (resources.listing); runs in a worker thread (it reads the database).
    concrete_resources: Callable[[Context], list[Resource]] | None = None

    async def _handle_list_resources(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        # The SDK lists only the resources registered by URI; the per-project ones come from the database.
        result = await super()._handle_list_resources(ctx, params)
        if self.concrete_resources is not None:
            context = Context(request_context=ctx, mcp_server=self)
            result.resources = [*result.resources, *await anyio.to_thread.run_sync(self.concrete_resources, context)]
        return result

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        """Call a tool, refusing arguments it does not take and wording invalid ones argument by argument."""
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            known = set(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments) - known)
            if unknown:
                raise ToolError(
                    f"validation-error: {', '.join(unknown)}: not an argument of {name} "
                    f"(it takes {', '.join(sorted(known))})"
                )
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(validation_message(exc.__cause__)) from exc.__cause__
            # The SDK prefixes "Error executing tool <name>: "; the agent knows which tool it called.
            raise ToolError(str(exc).removeprefix(f"Error executing tool {name}: ")) from exc

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context | None = None
    ) -> Any:
        """Render a prompt; missing arguments are the caller's error (invalid params), said plainly."""
        try:
            return await super().get_prompt(name, arguments, context)
        except ValueError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc), data={"prompt": name}) from None


def build_server(
    *,
    db: DatabaseManager,
    store: BlobStore,
    settings: Settings,
    lifespan: Any = None,
    principal: Principal | None = LOCAL_USER,
) -> MCPServer:
    """The gateway's MCP server over these services.

    `principal` is who calls over transports without HTTP requests (stdio: the principal of GATEWAY_TOKEN;
    in-process clients); over HTTP each call acts as the principal the app's gate authenticated.
    """
    server = GatewayServer("gateway", version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan)
    deps = Deps(db=db, store=store, settings=settings, principal=principal)
    for group in GROUPS:
        group.register(server, deps)
    server.concrete_resources = resources.listing(deps)
    server.middleware.append(_slim_tools_list)
    return server


def _compact(schema: Any, *, type_lists: bool = False) -> Any:
    """The same JSON Schema in fewer tokens: no pydantic `title`s (not properties named title), no
    `additionalProperties: true` (the default), and with `type_lists`, `anyOf` of bare types as one `type`
    list (for output schemas only: some clients' function calling reads no type lists in arguments)."""
    if isinstance(schema, list):
        return [_compact(v, type_lists=type_lists) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: _compact(v, type_lists=type_lists)
        for k, v in schema.items()
        if not (k == "title" and isinstance(v, str)) and not (k == "additionalProperties" and v is True)
    }
    arms = out.get("anyOf")
    if type_lists and isinstance(arms, list) and all(isinstance(a, dict) and set(a) == {"type"} for a in arms):
        del out["anyOf"]
        out["type"] = [a["type"] for a in arms]
    return out


async def _slim_tools_list(ctx: Any, call_next: Any) -> Any:
    result = await call_next(ctx)
    if getattr(ctx, "method", None) == "tools/list" and isinstance(result, dict):
        for tool in result.get("tools", []):
            tool["inputSchema"] = _compact(tool.get("inputSchema", {}))
            if "outputSchema" in tool:
                tool["outputSchema"] = _compact(tool["outputSchema"], type_lists=True)
    return result


def stdio_lifespan(hub: Any, settings: Settings) -> Any:
    """For `gateway mcp`: run the event fan-out (e.g. to Redis) while the stdio server runs."""
    from gateway.app.services import event_streams

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> Any:
        async with event_streams.serving(hub, settings=settings):
            yield {}

    return lifespan
