"""MCP tools over tasks: read a briefing, claim, release, block and complete."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from gateway.app.mcp.common import READ_ONLY, WRITE, AgentId, Deps, ProjectId, TaskRef, answer, tool_call
from gateway.app.services import briefing, projects, task_execution


def register(server: MCPServer, deps: Deps) -> None:
    """Add the task tools to the server."""
    db = deps.db

    def _briefing(project_id: str, ref: str | int | None) -> dict[str, Any]:
        with db.read_session() as session:
            task = briefing.resolve_task(session, project_id=project_id, ref=ref)
            return briefing.briefing(session, project_id=project_id, task=task)

    @server.tool(annotations=READ_ONLY)
    def get_task(ctx: Context, project_id: ProjectId, task: TaskRef | None = None) -> CallToolResult:
        """A task's full briefing (default: the project's current task), without claiming it."""
        with tool_call(ctx, "get_task", deps, project_id=project_id):
            return answer(_briefing(project_id, task))

    @server.tool(annotations=WRITE)
    def claim_task(
        ctx: Context,
        project_id: ProjectId,
        agent_id: AgentId = None,
        task: TaskRef | None = None,
        start: Annotated[bool, Field(description="Also start it (default)")] = True,
        lease_seconds: Annotated[
            int, Field(ge=1, le=86_400, description="Claim lifetime; renew by claiming again")
        ] = 900,
    ) -> CallToolResult:
        """Claim a task (default: the next ready one, by priority) and start it; returns its briefing."""
        with tool_call(ctx, "claim_task", deps, project_id=project_id, agent_id=agent_id) as call:
            with db.get_session() as session:
                if task is None:
                    claimed = task_execution.claim_next(
                        session=session,
                        project_id=project_id,
                        agent_id=call.holder,
                        lease_seconds=lease_seconds,
                        start=start,
                    )
                    if claimed is None:
                        status = briefing.progress(session, projects.get(session=session, project_id=project_id))
                        return answer({"claimed": None, "reason": "no task is ready", "project": status})
                else:
                    claimed = task_execution.claim(
                        session=session,
                        project_id=project_id,
                        task_id=briefing.resolve_task(session, project_id=project_id, ref=task).id,  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
                        agent_id=call.holder,
                        lease_seconds=lease_seconds,
                        start=start,
                    )
                task_id = claimed.id
            return answer(_briefing(project_id, task_id))

    def _transition(project_id: str, ref: str, action: Any, **kwargs: Any) -> dict[str, Any]:
        with db.get_session() as session:
            task = briefing.resolve_task(session, project_id=project_id, ref=ref)
            done = action(session=session, project_id=project_id, task_id=task.id, **kwargs)
            status = briefing.progress(session, projects.get(session=session, project_id=project_id))
            return {
                "task": {"code": done.code, "status": done.status, "claimed_by": done.claimed_by},
                "project": status,
            }

    @server.tool(annotations=WRITE)
    def release_task(ctx: Context, project_id: ProjectId, task: TaskRef, agent_id: AgentId = None) -> CallToolResult:
        """Give your claim on a task back (a started task returns to pending)."""
        with tool_call(ctx, "release_task", deps, project_id=project_id, agent_id=agent_id) as call:
            return answer(_transition(project_id, task, task_execution.release, agent_id=call.holder))

    @server.tool(annotations=WRITE)
    def block_task(
        ctx: Context,
        project_id: ProjectId,
        task: TaskRef,
        reason: Annotated[str, Field(min_length=1, max_length=4000, description="What blocks it")],
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Report a blocker on a task; its claim is released until a user unblocks it."""
        with tool_call(ctx, "block_task", deps, project_id=project_id, agent_id=agent_id) as call:
            return answer(_transition(project_id, task, task_execution.block, agent_id=call.holder, reason=reason))

    @server.tool(annotations=WRITE)
    def complete_task(
        ctx: Context,
        project_id: ProjectId,
        task: TaskRef,
        summary: Annotated[str, Field(min_length=1, max_length=20_000, description="What you delivered")],
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Complete a task with a summary; refused until each required deliverable has a valid artifact."""
        with tool_call(ctx, "complete_task", deps, project_id=project_id, agent_id=agent_id) as call:
            return answer(_transition(project_id, task, task_execution.complete, agent_id=call.holder, summary=summary))
