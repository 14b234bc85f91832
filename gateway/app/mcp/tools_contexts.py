"""MCP tools over contexts: read the project's or a task's memory and record decisions in it."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from gateway.app.errors import InvalidInput
from gateway.app.mcp import answers
from gateway.app.mcp.common import READ_ONLY, WRITE, AgentId, Deps, OptionalTask, ProjectId, answer, tool_call
from gateway.app.schemas.contexts import CONTEXT_SHAPE
from gateway.app.services import briefing, contexts


def register(server: MCPServer, deps: Deps) -> None:
    """Add the context tools to the server."""
    db = deps.db

    @server.tool(annotations=READ_ONLY)
    def get_context(
        ctx: Context,
        project_id: ProjectId,
        task: Annotated[
            OptionalTask, Field(description="Task code (T-004) or id; left out: the project's global context")
        ] = None,
        version: Annotated[int | None, Field(description="A version to read; left out: the active one")] = None,
    ) -> Annotated[CallToolResult, answers.ContextRead]:
        """The active context (global, or a task's), or one version of it."""
        with tool_call(ctx, "get_context", deps, project_id=project_id), db.read_session() as session:
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id if task else None
            row = (
                contexts.get_version(session=session, project_id=project_id, version=version, task_id=task_id)
                if version is not None
                else contexts.get_active(session=session, project_id=project_id, task_id=task_id)
            )
            content = contexts.current_content(session, row)
            return answer({"version": row.version, "source": row.source, "content": content})

    @server.tool(annotations=WRITE)
    def update_context(
        ctx: Context,
        project_id: ProjectId,
        append: Annotated[
            dict[str, list[Any]] | None,
            Field(
                description='Entries to add at the end of lists, e.g. {"decisions": [{"what": "…", "why": "…"}], '
                '"notes": ["…"]}: nothing already there is replaced, no base_version needed. ' + CONTEXT_SHAPE
            ),
        ] = None,
        patch: Annotated[
            dict[str, Any] | None,
            Field(
                description='A JSON Merge Patch (RFC 7386): objects merge (add a convention: {"conventions": '
                '{"naming": "snake_case"}}), null removes a key, a list replaces the whole list (use append)'
            ),
        ] = None,
        base_version: Annotated[
            int | None, Field(description="The version you read (get_context); required with patch, refused if stale")
        ] = None,
        task: Annotated[
            OptionalTask, Field(description="Task code (T-004) or id; left out: the project's global context")
        ] = None,
        agent_id: AgentId = None,
    ) -> Annotated[CallToolResult, answers.ContextWritten]:
        """Record decisions, conventions or notes: append to lists, or merge-patch (a new context version)."""
        with (
            tool_call(ctx, "update_context", deps, project_id=project_id, agent_id=agent_id) as call,
            db.get_session() as session,
        ):
            if (append is None) == (patch is None):
                raise InvalidInput(
                    "Give exactly one of append and patch.",
                    errors=[{"loc": ["append"], "msg": "give exactly one of append and patch"}],
                )
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id if task else None
            if append is not None:
                row = contexts.append_entries(
                    session=session,
                    project_id=project_id,
                    task_id=task_id,
                    entries=append,
                    expected_version=base_version,
                    source="ai-generate",
                    created_by="ai",
                    actor=call.actor,
                )
            else:
                row = contexts.patch(
                    session=session,
                    project_id=project_id,
                    task_id=task_id,
                    patch=patch,
                    expected_version=base_version,
                    source="ai-generate",
                    created_by="ai",
                    actor=call.actor,
                )
            return answer({"version": row.version, "summary": row.summary})
