"""MCP tools over projects: what exists and how far each has come."""

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult

from gateway.app.mcp import answers
from gateway.app.mcp.common import LISTED_PROJECTS, READ_ONLY, Deps, ProjectId, answer, tool_call, visibility
from gateway.app.services import briefing, projects


def register(server: MCPServer, deps: Deps) -> None:
    """Add the project tools to the server."""
    db = deps.db

    @server.tool(annotations=READ_ONLY)
    def list_projects(ctx: Context) -> Annotated[CallToolResult, answers.ProjectList]:
        """List projects: id, name, status."""
        with tool_call(ctx, "list_projects", deps) as call, db.read_session() as session:
            page = projects.list_(session=session, limit=LISTED_PROJECTS, **visibility(call.principal))
            items = [{"id": p.id, "name": p.name, "status": p.status} for p in page.items]
            return answer(items, structured={"projects": items})

    @server.tool(annotations=READ_ONLY)
    def project_status(project_id: ProjectId, ctx: Context) -> Annotated[CallToolResult, answers.Progress]:
        """A project's status: accepted plan version, task counts, current task, ready tasks."""
        with tool_call(ctx, "project_status", deps, project_id=project_id), db.read_session() as session:
            return answer(briefing.progress(session, projects.get(session=session, project_id=project_id)))
