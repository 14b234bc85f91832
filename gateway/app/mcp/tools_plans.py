"""MCP tools over plans: propose the next version from feedback (a user decides)."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field, TypeAdapter, ValidationError

from gateway.app.errors import InvalidInput
from gateway.app.mcp.common import WRITE, AgentId, Deps, ProjectId, answer, tool_call
from gateway.app.planner import Edit, Feedback
from gateway.app.services import plans

EDITS = TypeAdapter(list[Edit])


def register(server: MCPServer, deps: Deps) -> None:
    """Add the plan tools to the server."""
    db = deps.db

    @server.tool(annotations=WRITE)
    def propose_plan_revision(
        ctx: Context,
        project_id: ProjectId,
        feedback: Annotated[str | None, Field(max_length=20_000, description="What should change and why")] = None,
        edits: Annotated[
            list[dict[str, Any]] | None,
            Field(description="Structured edits {op: add|remove|edit|move|split|merge|scope, code, …}"),
        ] = None,
        version: Annotated[int | None, Field(description="Version to revise (default: the accepted one)")] = None,
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Propose the next plan version from feedback; a user decides whether to accept it."""
        with tool_call(ctx, "propose_plan_revision", deps, project_id=project_id, agent_id=agent_id) as call:
            try:
                parsed = EDITS.validate_python(edits or [])
            except ValidationError as exc:
                errors = [
                    {"loc": ["edits", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                    for e in exc.errors(include_url=False, include_input=False)
                ]
                raise InvalidInput("The edits are not valid.", errors=errors) from None
            with db.get_session() as session:
                if version is None:
                    version = plans.active(session=session, project_id=project_id).version
                plan = plans.revise(
                    session=session,
                    project_id=project_id,
                    version=version,
                    feedback=Feedback(text=feedback, edits=parsed),
                    actor=call.actor,
                )
                return answer(
                    {
                        "version": plan.version,
                        "status": plan.status,
                        "based_on_version": version,
                        "summary": plan.summary,
                    }
                )
