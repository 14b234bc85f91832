"""MCP resources: a project's global context, a task's context and the accepted plan, as JSON documents."""

import json
from collections.abc import Callable

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import Resource

from gateway.app.db import ProjectDB
from gateway.app.mcp.common import LISTED_PROJECTS, Deps, resource_error, tool_call, visibility
from gateway.app.services import briefing, contexts, plans, projects


def register(server: MCPServer, deps: Deps) -> None:
    """Add the resources to the server."""
    db = deps.db

    @server.resource("gateway://projects/{project_id}/context", mime_type="application/json")
    def global_context(project_id: str, ctx: Context) -> str:
        """The project's active global context."""
        with (
            tool_call(ctx, "global_context", deps, project_id=project_id, error=resource_error),
            db.read_session() as session,
        ):
            row = contexts.get_active(session=session, project_id=project_id)
            return json.dumps(contexts.current_content(session, row), ensure_ascii=False)

    @server.resource("gateway://projects/{project_id}/tasks/{task}/context", mime_type="application/json")
    def task_context(project_id: str, task: str, ctx: Context) -> str:
        """A task's active context."""
        with (
            tool_call(ctx, "task_context", deps, project_id=project_id, error=resource_error),
            db.read_session() as session,
        ):
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id
            return contexts.get_active(session=session, project_id=project_id, task_id=task_id).content

    @server.resource("gateway://projects/{project_id}/plan", mime_type="application/json")
    def active_plan(project_id: str, ctx: Context) -> str:
        """The project's accepted plan: milestones, and tasks in order with milestone, status and dependencies."""
        with (
            tool_call(ctx, "active_plan", deps, project_id=project_id, error=resource_error),
            db.read_session() as session,
        ):
            plan = plans.active(session=session, project_id=project_id)
            rows = plans.tasks_of(session=session, plan=plan)
            return json.dumps(
                {
                    "version": plan.version,
                    "summary": plan.summary,
                    "milestones": plans.milestones_of(plan),
                    "tasks": [
                        {
                            "code": t.code,
                            "title": t.title,
                            "milestone": t.milestone,
                            "status": t.status,
                            "priority": t.priority,
                            "dependencies": t.dependencies or [],
                        }
                        for t in rows
                    ],
                },
                ensure_ascii=False,
            )


def listing(deps: Deps) -> Callable[[Context], list[Resource]]:
    """What resources/list names beside the templates: each visible project's global context, and its accepted
    plan once there is one."""
    db = deps.db

    def concrete(ctx: Context) -> list[Resource]:
        try:
            with tool_call(ctx, "list_projects", deps, error=resource_error) as call, db.read_session() as session:
                page = projects.list_(session=session, limit=LISTED_PROJECTS, **visibility(call.principal))
                return [resource for project in page.items for resource in _of(project)]
        except ResourceError:
            return []  # a caller who may list no projects still gets the templates

    return concrete


# What resources/list names of each project: (path, title, description); the plan once one is accepted.
CONTEXT_RESOURCE = ("context", "global context", "The project's memory: the game, conventions, decisions, notes")
PLAN_RESOURCE = ("plan", "accepted plan", "Milestones, and tasks in order with status and dependencies")


def _of(project: ProjectDB) -> list[Resource]:
    kinds = [CONTEXT_RESOURCE] if project.active_plan_id is None else [CONTEXT_RESOURCE, PLAN_RESOURCE]
    return [
        Resource(
            uri=f"gateway://projects/{project.id}/{path}",
            name=f"{project.id}/{path}",
            title=f"{project.name}: {title}",
            description=description,
            mime_type="application/json",
        )
        for path, title, description in kinds
    ]
