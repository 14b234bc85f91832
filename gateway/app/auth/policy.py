"""The one place that decides who may do what: actions, the roles that may do each, and every door's mapping.

Every HTTP route, WebSocket stream and MCP tool names one action here; a route or tool without one is refused
to everybody but administrators (and the test that walks the route table fails). Project-scoped actions also
need the project: a user must belong to it, an agent's token must list it; administrators see every project.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.app.auth.principal import ROLE_ADMIN, ROLE_AGENT, ROLE_USER, Principal
from gateway.app.errors import Forbidden, Unauthorized

EVERYONE = frozenset({ROLE_USER, ROLE_ADMIN, ROLE_AGENT})
PEOPLE = frozenset({ROLE_USER, ROLE_ADMIN})
ADMINS = frozenset({ROLE_ADMIN})


@dataclass(frozen=True)
class Rule:
    """Who may do an action: roles, and whether it concerns one project (membership is then required)."""

    roles: frozenset[str]
    scoped: bool
    description: str
    public: bool = False


def _rule(roles: frozenset[str], description: str, *, scoped: bool = True) -> Rule:
    return Rule(roles=roles, scoped=scoped, description=description)


PUBLIC = "public"

ACTIONS: dict[str, Rule] = {
    PUBLIC: Rule(EVERYONE, scoped=False, public=True, description="health, readiness, problem types, docs, login"),
    "catalogue.read": _rule(EVERYONE, "read game templates and the MCP server catalogue", scoped=False),
    "project.list": _rule(EVERYONE, "list the projects one may see", scoped=False),
    "project.create": _rule(PEOPLE, "create a project (its creator becomes a member)", scoped=False),
    "project.read": _rule(EVERYONE, "read a project and its status"),
    "project.update": _rule(PEOPLE, "change a project's name, description, brief, settings"),
    "project.delete": _rule(PEOPLE, "delete a project with everything in it"),
    "member.read": _rule(PEOPLE, "list a project's members"),
    "member.manage": _rule(PEOPLE, "add or remove a project's members"),
    "plan.read": _rule(EVERYONE, "read plan versions and diffs"),
    "plan.propose": _rule(EVERYONE, "ask the planner for a new version"),
    "plan.revise": _rule(EVERYONE, "give feedback that makes the next version"),
    "plan.edit": _rule(EVERYONE, "propose one's own next version"),
    "plan.accept": _rule(PEOPLE, "accept a version (it becomes the active plan)"),
    "plan.reject": _rule(PEOPLE, "reject a version"),
    "task.read": _rule(EVERYONE, "read tasks and briefings"),
    "task.create": _rule(PEOPLE, "add a task outside a plan"),
    "task.update": _rule(PEOPLE, "edit a task outside a plan"),
    "task.delete": _rule(PEOPLE, "delete a task outside a plan"),
    "task.claim": _rule(EVERYONE, "claim a task (a lease)"),
    "task.release": _rule(EVERYONE, "give one's own claim back"),
    "task.start": _rule(EVERYONE, "start a task (one's own claim, or an unclaimed one)"),
    "task.block": _rule(EVERYONE, "report a blocker on a task"),
    "task.complete": _rule(EVERYONE, "complete a task (one's own claim, or an unclaimed one)"),
    "task.unblock": _rule(PEOPLE, "unblock a task"),
    "task.approve": _rule(PEOPLE, "approve a task waiting in review"),
    "task.reopen": _rule(PEOPLE, "reopen a done or cancelled task"),
    "task.cancel": _rule(PEOPLE, "cancel a task"),
    "context.read": _rule(EVERYONE, "read contexts, their history and diffs"),
    "context.write": _rule(EVERYONE, "write a new context version (an agent's is `ai-generate`)"),
    "context.restore": _rule(PEOPLE, "restore an old context version"),
    "artifact.read": _rule(EVERYONE, "read artifacts and their files"),
    "artifact.create": _rule(EVERYONE, "hand in an artifact"),
    "artifact.validate": _rule(EVERYONE, "validate an artifact again"),
    "artifact.update": _rule(PEOPLE, "change an artifact's metadata"),
    "artifact.delete": _rule(PEOPLE, "delete an artifact"),
    "event.read": _rule(EVERYONE, "read a project's events (HTTP and WebSocket)"),
    "event.read_all": _rule(ADMINS, "read every project's events", scoped=False),
    "mcp.connect": _rule(EVERYONE, "open the MCP endpoint (each tool is then decided on its own)", scoped=False),
    "token.manage": _rule(ADMINS, "issue, list and revoke tokens; list and disable users and agents", scoped=False),
}

# Every route of the app, as "METHOD path" ("WS path" for WebSockets, "ANY path" for method-less routes).
ROUTES: dict[str, str] = {
    # documentation and system
    "GET /": PUBLIC,
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /redoc": PUBLIC,
    "MOUNT /ui/static": PUBLIC,  # the web UI's own scripts and styles (it asks for a login itself)
    "GET /health": PUBLIC,
    "GET /ready": PUBLIC,
    "GET /problems": PUBLIC,
    "GET /problems/{slug}": PUBLIC,
    # the web session (the endpoints themselves answer 401 where they need a principal)
    "POST /api/v1/session": PUBLIC,
    "GET /api/v1/session": PUBLIC,
    "DELETE /api/v1/session": PUBLIC,
    # administration
    "GET /api/v1/admin/tokens": "token.manage",
    "POST /api/v1/admin/tokens": "token.manage",
    "DELETE /api/v1/admin/tokens/{token_id}": "token.manage",
    "GET /api/v1/admin/principals": "token.manage",
    "DELETE /api/v1/admin/principals/{kind}/{name}": "token.manage",
    # projects
    "POST /api/v1/projects": "project.create",
    "GET /api/v1/projects": "project.list",
    "GET /api/v1/projects/{project_id}": "project.read",
    "PATCH /api/v1/projects/{project_id}": "project.update",
    "DELETE /api/v1/projects/{project_id}": "project.delete",
    "GET /api/v1/projects/{project_id}/members": "member.read",
    "PUT /api/v1/projects/{project_id}/members/{name}": "member.manage",
    "DELETE /api/v1/projects/{project_id}/members/{name}": "member.manage",
    # plans
    "POST /api/v1/projects/{project_id}/plans": "plan.propose",
    "GET /api/v1/projects/{project_id}/plans": "plan.read",
    "GET /api/v1/projects/{project_id}/plans/active": "plan.read",
    "GET /api/v1/projects/{project_id}/plans/diff": "plan.read",
    "GET /api/v1/projects/{project_id}/plans/{version}": "plan.read",
    "POST /api/v1/projects/{project_id}/plans/{version}/revisions": "plan.revise",
    # planning jobs (LLM proposals and revisions)
    "GET /api/v1/jobs/{job_id}": "plan.read",
    "POST /api/v1/jobs/{job_id}/cancel": "plan.propose",
    "GET /api/v1/projects/{project_id}/jobs": "plan.read",
    "POST /api/v1/projects/{project_id}/plans/{version}/edits": "plan.edit",
    "POST /api/v1/projects/{project_id}/plans/{version}/accept": "plan.accept",
    "POST /api/v1/projects/{project_id}/plans/{version}/reject": "plan.reject",
    "POST /api/v1/projects/{project_id}/plans/imports": "plan.edit",
    "GET /api/v1/projects/{project_id}/plans/{version}/export": "plan.read",
    "GET /api/v1/projects/{project_id}/archive": "project.read",
    "POST /api/v1/archives": "project.create",
    # tasks
    "POST /api/v1/projects/{project_id}/tasks": "task.create",
    "GET /api/v1/projects/{project_id}/tasks": "task.read",
    "GET /api/v1/projects/{project_id}/tasks/{task_id}": "task.read",
    "GET /api/v1/projects/{project_id}/tasks/{task_id}/briefing": "task.read",
    "PATCH /api/v1/projects/{project_id}/tasks/{task_id}": "task.update",
    "DELETE /api/v1/projects/{project_id}/tasks/{task_id}": "task.delete",
    "POST /api/v1/projects/{project_id}/tasks/next/claim": "task.claim",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/claim": "task.claim",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/release": "task.release",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/start": "task.start",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/block": "task.block",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/unblock": "task.unblock",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/complete": "task.complete",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/approve": "task.approve",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/reopen": "task.reopen",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/cancel": "task.cancel",
    # artifacts
    "POST /api/v1/projects/{project_id}/artifacts": "artifact.create",
    "GET /api/v1/projects/{project_id}/artifacts": "artifact.read",
    "GET /api/v1/projects/{project_id}/artifacts/{artifact_id}": "artifact.read",
    "PATCH /api/v1/projects/{project_id}/artifacts/{artifact_id}": "artifact.update",
    "DELETE /api/v1/projects/{project_id}/artifacts/{artifact_id}": "artifact.delete",
    "POST /api/v1/projects/{project_id}/artifacts/files": "artifact.create",
    "POST /api/v1/projects/{project_id}/artifacts/workspace": "artifact.create",
    "GET /api/v1/projects/{project_id}/artifacts/{artifact_id}/content": "artifact.read",
    "POST /api/v1/projects/{project_id}/artifacts/{artifact_id}/validate": "artifact.validate",
    # contexts
    "GET /api/v1/projects/{project_id}/context": "context.read",
    "PUT /api/v1/projects/{project_id}/context": "context.write",
    "PATCH /api/v1/projects/{project_id}/context": "context.write",
    "GET /api/v1/projects/{project_id}/context/versions": "context.read",
    "GET /api/v1/projects/{project_id}/context/versions/{version}": "context.read",
    "GET /api/v1/projects/{project_id}/context/diff": "context.read",
    "POST /api/v1/projects/{project_id}/context/versions/{version}/restore": "context.restore",
    "GET /api/v1/projects/{project_id}/tasks/{task_id}/context": "context.read",
    "PUT /api/v1/projects/{project_id}/tasks/{task_id}/context": "context.write",
    "PATCH /api/v1/projects/{project_id}/tasks/{task_id}/context": "context.write",
    "GET /api/v1/projects/{project_id}/tasks/{task_id}/context/versions": "context.read",
    "GET /api/v1/projects/{project_id}/tasks/{task_id}/context/versions/{version}": "context.read",
    "GET /api/v1/projects/{project_id}/tasks/{task_id}/context/diff": "context.read",
    "POST /api/v1/projects/{project_id}/tasks/{task_id}/context/versions/{version}/restore": "context.restore",
    # events
    "GET /api/v1/projects/{project_id}/events": "event.read",
    "GET /api/v1/events": "event.read_all",
    "WS /api/v1/projects/{project_id}/events/ws": "event.read",
    "WS /api/v1/events/ws": "event.read_all",
    # catalogue
    "GET /api/v1/catalogue/mcp-servers": "catalogue.read",
    "GET /api/v1/catalogue/mcp-servers/{name}": "catalogue.read",
    "GET /api/v1/catalogue/templates": "catalogue.read",
    # MCP over streamable HTTP: the endpoint needs a principal; each tool is decided by TOOLS
    "ANY /mcp": "mcp.connect",
}


# Routes of project-scoped resources whose path has no {project_id} (e.g. /jobs/{job_id}) name the project
# through a resolver: path parameter -> function(session, value) -> the project id (None: no such resource).
def _job_project(session: Any, job_id: str) -> str | None:
    from gateway.app.db import JobDB

    job = session.get(JobDB, job_id)
    return job.project_id if job is not None else None


PROJECT_OF: dict[str, Callable[[Any, str], str | None]] = {"job_id": _job_project}

# Every MCP tool, resource template and prompt, by name.
TOOLS: dict[str, str] = {
    "list_projects": "project.list",
    "project_status": "project.read",
    "get_task": "task.read",
    "claim_task": "task.claim",
    "release_task": "task.release",
    "block_task": "task.block",
    "complete_task": "task.complete",
    "submit_artifact": "artifact.create",
    "get_artifact": "artifact.read",
    "get_context": "context.read",
    "update_context": "context.write",
    "propose_plan_revision": "plan.revise",
    "get_job": "plan.read",
    "get_planning_kit": "plan.read",
    "submit_plan_draft": "plan.propose",
    # resources and prompts
    "global_context": "context.read",
    "task_context": "context.read",
    "active_plan": "plan.read",
    "work_on_project": "project.read",
}


def decide(
    principal: Principal | None,
    action: str | None,
    *,
    project_id: str | None = None,
    is_member: Callable[[str], bool] | None = None,
    what: str = "",
) -> None:
    """Return if the principal may do the action (on that project); raise Unauthorized or Forbidden otherwise.

    `action` None means the door has no decision: only administrators pass (fail closed for everyone else).
    """
    rule = ACTIONS.get(action) if action is not None else None
    if rule is not None and rule.public:
        return
    if principal is None:
        raise Unauthorized("A token is required: send `Authorization: Bearer <token>`.")
    if rule is None:
        if principal.role == ROLE_ADMIN:
            return
        raise Forbidden(
            f"{what or 'This'} has no authorization decision yet; only administrators may use it.",
            permission=action or "undecided",
        )
    if principal.role not in rule.roles:
        raise Forbidden(
            f"The {principal.role} role may not {action} ({rule.description}).",
            permission=action or "",
            role=principal.role,
        )
    if rule.scoped and not principal.sees_all_projects:
        if project_id is None:
            raise Forbidden(f"{action} concerns one project.", permission=action or "")
        allowed = project_id in principal.projects if principal.is_agent else bool(is_member and is_member(project_id))
        if not allowed:
            whose = "this agent token's projects" if principal.is_agent else "your projects"
            raise Forbidden(
                f"Project {project_id!r} is not one of {whose}.", permission=action or "", project_id=project_id
            )


def acting_agent(
    principal: Principal | None, given: str | None, *, agent_has_tokens: Callable[[str], bool]
) -> str | None:
    """The name a task action is taken under: an agent's comes from its token, and `agent_id` must match it.

    A user acts under their own name; the local user (GATEWAY_AUTH=local, no token) may name an agent, unless
    that agent holds tokens: then it must send one.
    """
    if principal is None:
        raise Unauthorized("A token is required: send `Authorization: Bearer <token>`.")
    if principal.is_agent:
        if given is not None and given != principal.name:
            raise Forbidden(
                f"This token belongs to agent {principal.name!r}; agent_id {given!r} does not match it.",
                permission="act-as-agent",
            )
        return principal.name
    if principal.local:
        if given is not None and agent_has_tokens(given):
            raise Unauthorized(f"Agent {given!r} holds tokens: it must authenticate with one of them.")
        return given
    if given is not None and given != principal.name:
        raise Forbidden(
            f"A user acts under their own name ({principal.name!r}), not as {given!r}; agents use their own tokens.",
            permission="act-as-agent",
        )
    return given
