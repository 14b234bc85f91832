"""MCP prompts: how an agent works a project through the gateway's tools."""

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from gateway.app.mcp.common import Deps, prompt_error, tool_call

WORK_PROMPT = """\
You are agent `{agent_id}` working on the game project `{project_id}` through the gateway's MCP tools.

1. Call project_status(project_id="{project_id}") to see the accepted plan and what is ready.
2. Call claim_task(project_id="{project_id}", agent_id="{agent_id}"). It claims the next ready task, starts it
   and returns its briefing. If nothing is ready, wait or report back.
3. Read the briefing: description, acceptance criteria, deliverables, the dependencies' summaries and
   artifacts, the task and global context (conventions!) and the suggested MCP tools for this engine.
4. Do the work with your own tools and the suggested MCP servers. Record decisions others must know with
   update_context (base_version = the version you read).
5. Hand in every required deliverable with submit_artifact (task = the task's code). Fix and resubmit any
   artifact whose report says invalid.
6. complete_task with a summary a teammate can build on. Then go back to step 2.
If you cannot continue, call block_task with the reason. If the plan itself is wrong, propose_plan_revision
with your feedback; a person decides. Renew a long task's claim by calling claim_task on it again.
"""


def register(server: MCPServer, deps: Deps) -> None:
    """Add the prompts to the server."""

    @server.prompt(title="Work on a game project")
    def work_on_project(
        project_id: Annotated[str, Field(description="The project to work on (see list_projects)")],
        agent_id: Annotated[str, Field(description="Your stable agent name, used in every tool call")],
        ctx: Context,
    ) -> str:
        """How to work a project through the gateway's tools."""
        with tool_call(ctx, "work_on_project", deps, project_id=project_id, error=prompt_error) as call:
            name = agent_id if not call.principal.is_agent else call.principal.name
            return WORK_PROMPT.format(project_id=project_id, agent_id=name)
