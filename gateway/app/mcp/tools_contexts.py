"""MCP tools over contexts: read the project's or a task's memory and record decisions in it."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from gateway.app.mcp.common import READ_ONLY, WRITE, AgentId, Deps, ProjectId, TaskRef, answer, tool_call
from gateway.app.services import briefing, contexts


def register(server: MCPServer, deps: Deps) -> None:
    """Add the context tools to the server."""
    db = deps.db

    @server.tool(annotations=READ_ONLY)
    def get_context(
        ctx: Context, project_id: ProjectId, task: TaskRef | None = None, version: int | None = None
    ) -> CallToolResult:
        """The active context (global, or a task's), or one version of it."""
        with tool_call(ctx, "get_context", deps, project_id=project_id), db.read_session() as session:
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id if task else None
            row = (
                contexts.get_version(session=session, project_id=project_id, version=version, task_id=task_id)
                if version is not None
                else contexts.get_active(session=session, project_id=project_id, task_id=task_id)
            )
            return answer({"version": row.version, "source": row.source, "content": contexts.content_of(row)})

    @server.tool(annotations=WRITE)
    def update_context(
        ctx: Context,
        project_id: ProjectId,
        patch: Annotated[dict[str, Any], Field(description="JSON Merge Patch (RFC 7386); null removes a key")],
        base_version: Annotated[int, Field(description="The version you read; refused if no longer current")],
        task: TaskRef | None = None,
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Record decisions or conventions: a new context version (history is never rewritten)."""
        with (
            tool_call(ctx, "update_context", deps, project_id=project_id, agent_id=agent_id) as call,
            db.get_session() as session,
        ):
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id if task else None
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
