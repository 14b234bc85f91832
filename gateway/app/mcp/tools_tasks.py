"""MCP tools over tasks: read a briefing, claim, release, block and complete."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from gateway.app.mcp import answers
from gateway.app.mcp.common import (
    READ_ONLY,
    WRITE,
    AgentId,
    Deps,
    OptionalTask,
    ProjectId,
    TaskRef,
    answer,
    tool_call,
)
from gateway.app.services import briefing, projects, task_execution, task_views


def register(server: MCPServer, deps: Deps) -> None:
    """Add the task tools to the server."""
    db = deps.db

    def _briefing(project_id: str, ref: str | int | None, holder: str | None = None) -> dict[str, Any]:
        with db.read_session() as session:
            task = briefing.resolve_task(session, project_id=project_id, ref=ref, agent_id=holder)
            view = briefing.briefing(session, project_id=project_id, task=task)
            if holder is not None:
                view["notices"] = briefing.notices(session, project_id=project_id, agent_id=holder)
            return view

    @server.tool(annotations=READ_ONLY)
    def get_task(
        ctx: Context,
        project_id: ProjectId,
        task: Annotated[
            OptionalTask,
            Field(description="Task code (T-004) or id; left out: the task you hold, else the current one"),
        ] = None,
        agent_id: AgentId = None,
    ) -> Annotated[CallToolResult, answers.Briefing]:
        """A task's full briefing (default: the task you hold, else the project's current task), without claiming."""
        with tool_call(ctx, "get_task", deps, project_id=project_id, agent_id=agent_id) as call:
            return answer(_briefing(project_id, task, call.holder))

    @server.tool(annotations=WRITE)
    def claim_task(
        ctx: Context,
        project_id: ProjectId,
        agent_id: AgentId = None,
        task: Annotated[
            OptionalTask, Field(description="Task code (T-004) or id to claim; left out: the next ready task")
        ] = None,
        start: Annotated[bool, Field(description="Also start it (default)")] = True,
        lease_seconds: Annotated[
            int, Field(ge=1, le=86_400, description="Claim lifetime; renew by claiming again")
        ] = 900,
    ) -> Annotated[CallToolResult, answers.Claim]:
        """Claim a task (default: the next ready one) and start it; answers {claimed, reason, briefing, project}."""
        with tool_call(ctx, "claim_task", deps, project_id=project_id, agent_id=agent_id) as call:
            with db.get_session() as session:
                task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id if task else None
                claimed = task_execution.claim_work(
                    session=session,
                    project_id=project_id,
                    agent_id=call.holder,
                    task_id=task_id,
                    lease_seconds=lease_seconds,
                    start=start,
                )
                claimed_id = claimed.id if claimed is not None else None
            with db.read_session() as session:
                held = (
                    briefing.briefing(
                        session,
                        project_id=project_id,
                        task=briefing.resolve_task(session, project_id=project_id, ref=claimed_id),
                    )
                    if claimed_id is not None
                    else None
                )
                # One shape whether or not a task was ready: an agent never guesses which answer it got.
                return answer(
                    {
                        "claimed": held is not None,
                        "reason": None if held is not None else "no task is ready",
                        "briefing": held,
                        "project": briefing.progress(session, projects.get(session=session, project_id=project_id)),
                        "notices": briefing.notices(session, project_id=project_id, agent_id=call.holder),
                    }
                )

    def _transition(project_id: str, ref: str, action: Any, **kwargs: Any) -> dict[str, Any]:
        with db.get_session() as session:
            task = briefing.resolve_task(session, project_id=project_id, ref=ref)
            done = action(session=session, project_id=project_id, task_id=task.id, **kwargs)
            status = briefing.progress(session, projects.get(session=session, project_id=project_id))
            return {"task": task_views.outcome(done), "project": status}

    @server.tool(annotations=WRITE)
    def release_task(
        ctx: Context, project_id: ProjectId, task: TaskRef, agent_id: AgentId = None
    ) -> Annotated[CallToolResult, answers.Transition]:
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
    ) -> Annotated[CallToolResult, answers.Transition]:
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
    ) -> Annotated[CallToolResult, answers.Transition]:
        """Complete a task with a summary; refused until each required deliverable has a valid artifact."""
        with tool_call(ctx, "complete_task", deps, project_id=project_id, agent_id=agent_id) as call:
            return answer(_transition(project_id, task, task_execution.complete, agent_id=call.holder, summary=summary))
