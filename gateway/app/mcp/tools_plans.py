"""MCP tools over plans: propose the next version from feedback, follow planning jobs, and draft a plan as
the planner yourself (the agent-as-planner tools). A user decides on every version."""

import json
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import Field, TypeAdapter, ValidationError

from gateway.app.errors import InvalidInput, NotFound
from gateway.app.mcp import answers
from gateway.app.mcp.common import READ_ONLY, WRITE, AgentId, Deps, ProjectId, answer, tool_call
from gateway.app.planner import Edit, Feedback
from gateway.app.services import jobs, planning, plans

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
    ) -> Annotated[CallToolResult, answers.Proposal]:
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
                result = planning.request_revision(
                    session=session,
                    project_id=project_id,
                    version=version,
                    feedback=Feedback(text=feedback, edits=parsed),
                    planner=None,
                    settings=deps.settings,
                    actor=call.actor,
                )
                return answer({"based_on_version": version, **planning.describe(result)})

    @server.tool(annotations=READ_ONLY)
    def get_job(
        ctx: Context,
        project_id: ProjectId,
        job_id: Annotated[str, Field(max_length=64, description="The job_id a proposal answered")],
    ) -> Annotated[CallToolResult, answers.Job]:
        """A planning job: status, progress, the version it wrote or why it failed."""
        with tool_call(ctx, "get_job", deps, project_id=project_id), db.read_session() as session:
            job = jobs.get(session=session, job_id=job_id)
            if job.project_id != project_id:
                raise NotFound(f"No job with id {job_id!r} in project {project_id!r}.", resource="job", id=job_id)
            return answer(jobs.view(job))

    @server.tool(annotations=READ_ONLY)
    def get_planning_kit(
        ctx: Context,
        project_id: ProjectId,
        version: Annotated[int | None, Field(description="Version to revise; omit to plan anew")] = None,
        feedback: Annotated[
            str | None, Field(max_length=20_000, description="What the new version should change and why")
        ] = None,
    ) -> Annotated[CallToolResult, answers.PlanningKit]:
        """What you need to draft the plan yourself: brief, context, schema, rules, tools, base version."""
        with tool_call(ctx, "get_planning_kit", deps, project_id=project_id), db.get_session() as session:
            return answer(
                planning.drafting_kit(session=session, project_id=project_id, version=version, feedback=feedback)
            )

    @server.tool(annotations=WRITE)
    def submit_plan_draft(
        ctx: Context,
        project_id: ProjectId,
        draft: Annotated[dict[str, Any], Field(description="The whole plan (the kit's schema)")],
        version: Annotated[int | None, Field(description="Version it revises")] = None,
        feedback: Annotated[
            str | None, Field(max_length=20_000, description="The feedback the draft answers, if any")
        ] = None,
        agent_id: AgentId = None,
    ) -> Annotated[CallToolResult, answers.Draft]:
        """Submit your whole plan: stored as a proposal for a person to accept, or all its problems returned."""
        with (
            tool_call(ctx, "submit_plan_draft", deps, project_id=project_id, agent_id=agent_id) as call,
            db.get_session() as session,
        ):
            try:
                plan = planning.submit_agent_draft(
                    session=session,
                    project_id=project_id,
                    agent_id=call.holder,
                    draft=draft,
                    version=version,
                    feedback=feedback,
                )
            except InvalidInput as exc:
                problems = exc.extensions.get("errors", [])
                body = {"stored": False, "detail": exc.detail, "problem_count": len(problems), "problems": problems}
                text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
                return CallToolResult(content=[TextContent(type="text", text=text)], isError=True)
            return answer({"stored": True, **planning.describe(plan), "based_on_version": version})
