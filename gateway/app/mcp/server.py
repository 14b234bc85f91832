"""The MCP server through which AI coding agents work a project: few tools, typed, over the same services.

One definition serves both transports: stdio (`gateway mcp`) and streamable HTTP at `/mcp` in the app.
Every tool call runs in a worker thread (the SDK does that for plain functions), is one use case of a
service, logs its correlation id, agent and duration, and turns a refused request into an MCP tool error
with the same reason the REST API gives. No tool deletes anything or accepts a plan: that stays with users.
"""

import base64
import binascii
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, Literal

from asgi_correlation_id import correlation_id
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, TypeAdapter, ValidationError

from gateway import __version__
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.errors import DomainError, InvalidInput
from gateway.app.logging import get_logger, valid_request_id
from gateway.app.planner import Edit, Feedback
from gateway.app.services import artifacts, briefing, contexts, lifecycle, plans, projects
from gateway.app.storage import BlobStore

log = get_logger("gateway.mcp")

INSTRUCTIONS = """\
Gateway coordinates the work on a video game project. Workflow: project_status → claim_task (claims the
next ready task, starts it and returns its briefing: description, acceptance criteria, deliverables,
dependencies' results, context and suggested MCP tools) → do the work → submit_artifact for each
deliverable (fix any that come back invalid) → complete_task with a summary → claim_task again.
Use block_task when stuck, update_context to record decisions and conventions, propose_plan_revision to
suggest plan changes (a user accepts them). Task refs are codes like T-004.
"""

ProjectId = Annotated[str, Field(description="Project id", max_length=64)]
AgentId = Annotated[str, Field(description="Your stable agent name", pattern=r"^[A-Za-z0-9._:@-]{1,64}$")]
TaskRef = Annotated[str, Field(description="Task code (T-004) or id", max_length=32)]
EDITS = TypeAdapter(list[Edit])
# Inline content travels in one JSON message held in memory: large files go through workspace_path instead.
INLINE_CHARS = 10_000_000
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False)


def _json(data: Any) -> CallToolResult:
    """A compact JSON answer (no output schema, no pretty-printing: agents pay for every token)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return CallToolResult(content=[TextContent(type="text", text=text)])


def reason(exc: DomainError) -> str:
    """The refusal as the REST API words it: problem type, then detail, then each invalid field."""
    message = f"{exc.slug}: {exc.detail}"
    errors = exc.extensions.get("errors") or []
    if errors:
        message += " | " + "; ".join(f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg')}" for e in errors[:20])
    for key in ("current_status", "missing", "waiting_on", "current_version", "claimed_by"):
        if key in exc.extensions:
            message += f" | {key}={json.dumps(exc.extensions[key], default=str)}"
    return message


@contextmanager
def tool_call(ctx: Context | None, tool: str, *, agent_id: str | None = None) -> Iterator[str]:
    """Scope of one tool call: its correlation id (the request's, else a new one), its log line, its errors."""
    headers = (ctx.headers if ctx is not None else None) or {}
    sent = headers.get("x-request-id")
    request_id = correlation_id.get() or (sent if sent and valid_request_id(sent) else uuid.uuid4().hex)
    token = correlation_id.set(request_id)
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield request_id
    except DomainError as exc:
        outcome = exc.slug
        raise ToolError(reason(exc)) from None
    except ValidationError as exc:
        outcome = "validation-error"
        raise ToolError(f"validation-error: {exc.errors(include_url=False, include_input=False)}") from None
    finally:
        log.info(
            "mcp tool call",
            tool=tool,
            agent_id=agent_id,
            outcome=outcome,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        correlation_id.reset(token)


def build_server(  # noqa: PLR0915 - one closure per tool keeps each next to its services
    *,
    db: DatabaseManager,
    store: BlobStore,
    settings: Settings,
    lifespan: Any = None,
) -> MCPServer:
    """The gateway's MCP server over these services."""
    server: MCPServer = MCPServer("gateway", version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan)

    def agent(agent_id: str) -> str:
        return f"agent:{agent_id}"

    # --- Projects ---------------------------------------------------------------------------------

    @server.tool(annotations=READ_ONLY)
    def list_projects(ctx: Context) -> CallToolResult:
        """List projects: id, name, status."""
        with tool_call(ctx, "list_projects"), db.read_session() as session:
            page = projects.list_(session=session, limit=200)
            return _json([{"id": p.id, "name": p.name, "status": p.status} for p in page.items])

    @server.tool(annotations=READ_ONLY)
    def project_status(project_id: ProjectId, ctx: Context) -> CallToolResult:
        """A project's status: accepted plan version, task counts, current task, ready tasks."""
        with tool_call(ctx, "project_status"), db.read_session() as session:
            return _json(briefing.progress(session, projects.get(session=session, project_id=project_id)))

    # --- Tasks ------------------------------------------------------------------------------------

    def _briefing(project_id: str, ref: str | int | None) -> dict[str, Any]:
        with db.read_session() as session:
            task = briefing.resolve_task(session, project_id=project_id, ref=ref)
            return briefing.briefing(session, project_id=project_id, task=task)

    @server.tool(annotations=READ_ONLY)
    def get_task(ctx: Context, project_id: ProjectId, task: TaskRef | None = None) -> CallToolResult:
        """A task's full briefing (default: the project's current task), without claiming it."""
        with tool_call(ctx, "get_task"):
            return _json(_briefing(project_id, task))

    @server.tool(annotations=WRITE)
    def claim_task(
        ctx: Context,
        project_id: ProjectId,
        agent_id: AgentId,
        task: TaskRef | None = None,
        start: Annotated[bool, Field(description="Also start it (default)")] = True,
        lease_seconds: Annotated[
            int, Field(ge=1, le=86_400, description="Claim lifetime; renew by claiming again")
        ] = 900,
    ) -> CallToolResult:
        """Claim a task (default: the next ready one, by priority) and start it; returns its briefing."""
        with tool_call(ctx, "claim_task", agent_id=agent_id):
            with db.get_session() as session:
                if task is None:
                    claimed = lifecycle.claim_next(
                        session=session,
                        project_id=project_id,
                        agent_id=agent_id,
                        lease_seconds=lease_seconds,
                        start=start,
                    )
                    if claimed is None:
                        status = briefing.progress(session, projects.get(session=session, project_id=project_id))
                        return _json({"claimed": None, "reason": "no task is ready", "project": status})
                else:
                    claimed = lifecycle.claim(
                        session=session,
                        project_id=project_id,
                        task_id=briefing.resolve_task(session, project_id=project_id, ref=task).id,  # type: ignore[arg-type]
                        agent_id=agent_id,
                        lease_seconds=lease_seconds,
                        start=start,
                    )
                task_id = claimed.id
            return _json(_briefing(project_id, task_id))  # type: ignore[arg-type]

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
    def release_task(ctx: Context, project_id: ProjectId, task: TaskRef, agent_id: AgentId) -> CallToolResult:
        """Give your claim on a task back (a started task returns to pending)."""
        with tool_call(ctx, "release_task", agent_id=agent_id):
            return _json(_transition(project_id, task, lifecycle.release, agent_id=agent_id))

    @server.tool(annotations=WRITE)
    def block_task(
        ctx: Context,
        project_id: ProjectId,
        task: TaskRef,
        agent_id: AgentId,
        reason: Annotated[str, Field(min_length=1, max_length=4000, description="What blocks it")],
    ) -> CallToolResult:
        """Report a blocker on a task; its claim is released until a user unblocks it."""
        with tool_call(ctx, "block_task", agent_id=agent_id):
            return _json(_transition(project_id, task, lifecycle.block, agent_id=agent_id, reason=reason))

    @server.tool(annotations=WRITE)
    def complete_task(
        ctx: Context,
        project_id: ProjectId,
        task: TaskRef,
        agent_id: AgentId,
        summary: Annotated[str, Field(min_length=1, max_length=20_000, description="What you delivered")],
    ) -> CallToolResult:
        """Complete a task with a summary; refused until each required deliverable has a valid artifact."""
        with tool_call(ctx, "complete_task", agent_id=agent_id):
            return _json(_transition(project_id, task, lifecycle.complete, agent_id=agent_id, summary=summary))

    # --- Artifacts --------------------------------------------------------------------------------

    @server.tool(annotations=WRITE)
    def submit_artifact(
        ctx: Context,
        project_id: ProjectId,
        agent_id: AgentId,
        name: Annotated[str, Field(min_length=1, max_length=255, description="File name, e.g. player.gd")],
        task: TaskRef | None = None,
        content: Annotated[str | None, Field(max_length=INLINE_CHARS, description="Text content")] = None,
        content_base64: Annotated[
            str | None, Field(max_length=INLINE_CHARS * 4 // 3 + 4, description="Binary content, base64")
        ] = None,
        workspace_path: Annotated[str | None, Field(description="Or: a path in the project workspace")] = None,
        path: Annotated[str | None, Field(description="Where it belongs in the project")] = None,
        category: Annotated[
            Literal["code", "asset", "document", "screenshot"] | None, Field(description="Inferred when left out")
        ] = None,
    ) -> CallToolResult:
        """Hand in a file for a task (text, base64 or a workspace path); returns its validation report."""
        with tool_call(ctx, "submit_artifact", agent_id=agent_id):
            given = [value is not None for value in (content, content_base64, workspace_path)]
            if sum(given) != 1:
                raise InvalidInput("Give exactly one of content, content_base64 and workspace_path.")
            task_id = None
            if task is not None:
                with db.read_session() as session:
                    task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id
            target = artifacts.FileTarget(project_id, task_id, category, path)
            if workspace_path is not None:
                stored = artifacts.register_workspace_file(
                    db,
                    store,
                    target=artifacts.FileTarget(project_id, task_id, category, workspace_path),
                    workspace=settings.workspace_for(project_id),
                    max_bytes=settings.max_upload_bytes,
                    actor=agent(agent_id),
                )
            else:
                data = content.encode() if content is not None else _decode(content_base64)  # type: ignore[arg-type]
                stored = artifacts.store_bytes(
                    db,
                    store,
                    target=target,
                    name=name,
                    data=data,
                    max_bytes=settings.max_upload_bytes,
                    actor=agent(agent_id),
                )
            return _json(_artifact_view(stored))

    @server.tool(annotations=READ_ONLY)
    def get_artifact(ctx: Context, project_id: ProjectId, artifact_id: int) -> CallToolResult:
        """An artifact's validation report."""
        with tool_call(ctx, "get_artifact"), db.read_session() as session:
            return _json(_artifact_view(artifacts.get(session=session, project_id=project_id, artifact_id=artifact_id)))

    # --- Context and plan -------------------------------------------------------------------------

    @server.tool(annotations=READ_ONLY)
    def get_context(
        ctx: Context, project_id: ProjectId, task: TaskRef | None = None, version: int | None = None
    ) -> CallToolResult:
        """The active context (global, or a task's), or one version of it."""
        with tool_call(ctx, "get_context"), db.read_session() as session:
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id if task else None
            row = (
                contexts.get_version(session=session, project_id=project_id, version=version, task_id=task_id)
                if version is not None
                else contexts.get_active(session=session, project_id=project_id, task_id=task_id)
            )
            return _json({"version": row.version, "source": row.source, "content": contexts.content_of(row)})

    @server.tool(annotations=WRITE)
    def update_context(
        ctx: Context,
        project_id: ProjectId,
        agent_id: AgentId,
        patch: Annotated[dict[str, Any], Field(description="JSON Merge Patch (RFC 7386); null removes a key")],
        base_version: Annotated[int, Field(description="The version you read; refused if no longer current")],
        task: TaskRef | None = None,
    ) -> CallToolResult:
        """Record decisions or conventions: a new context version (history is never rewritten)."""
        with tool_call(ctx, "update_context", agent_id=agent_id), db.get_session() as session:
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id if task else None
            row = contexts.patch(
                session=session,
                project_id=project_id,
                task_id=task_id,
                patch=patch,
                expected_version=base_version,
                source="ai-generate",
                created_by="ai",
                actor=agent(agent_id),
            )
            return _json({"version": row.version, "summary": row.summary})

    @server.tool(annotations=WRITE)
    def propose_plan_revision(
        ctx: Context,
        project_id: ProjectId,
        agent_id: AgentId,
        feedback: Annotated[str | None, Field(max_length=20_000, description="What should change and why")] = None,
        edits: Annotated[
            list[dict[str, Any]] | None,
            Field(description="Structured edits {op: add|remove|edit|move|split|merge|scope, code, …}"),
        ] = None,
        version: Annotated[int | None, Field(description="Version to revise (default: the accepted one)")] = None,
    ) -> CallToolResult:
        """Propose the next plan version from feedback; a user decides whether to accept it."""
        with tool_call(ctx, "propose_plan_revision", agent_id=agent_id):
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
                    actor=agent(agent_id),
                )
                return _json(
                    {
                        "version": plan.version,
                        "status": plan.status,
                        "based_on_version": version,
                        "summary": plan.summary,
                    }
                )

    # --- Resources and the prompt -----------------------------------------------------------------

    @server.resource("gateway://projects/{project_id}/context", mime_type="application/json")
    def global_context(project_id: str) -> str:
        """The project's active global context."""
        with db.read_session() as session:
            return contexts.get_active(session=session, project_id=project_id).content

    @server.resource("gateway://projects/{project_id}/tasks/{task}/context", mime_type="application/json")
    def task_context(project_id: str, task: str) -> str:
        """A task's active context."""
        with db.read_session() as session:
            task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id
            return contexts.get_active(session=session, project_id=project_id, task_id=task_id).content

    @server.resource("gateway://projects/{project_id}/plan", mime_type="application/json")
    def active_plan(project_id: str) -> str:
        """The project's accepted plan: tasks in order with status and dependencies."""
        with db.read_session() as session:
            plan = plans.active(session=session, project_id=project_id)
            rows = plans.tasks_of(session=session, plan=plan)
            return json.dumps(
                {
                    "version": plan.version,
                    "summary": plan.summary,
                    "tasks": [
                        {
                            "code": t.code,
                            "title": t.title,
                            "status": t.status,
                            "priority": t.priority,
                            "dependencies": json.loads(t.dependencies or "[]"),
                        }
                        for t in rows
                    ],
                },
                ensure_ascii=False,
            )

    @server.prompt(title="Work on a game project")
    def work_on_project(project_id: str, agent_id: str) -> str:
        """How to work a project through the gateway's tools."""
        return WORK_PROMPT.format(project_id=project_id, agent_id=agent_id)

    server.middleware.append(_slim_tools_list)
    return server


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


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content_base64 is not valid base64.") from None


def _artifact_view(row: Any) -> dict[str, Any]:
    report = json.loads(row.validation_report) if row.validation_report else {}
    return {
        "artifact_id": row.id,
        "name": row.name,
        "category": row.category,
        "task_id": row.task_id,
        "validation_status": row.validation_status,
        "errors": report.get("errors", []),
        "failed_checks": [c["name"] for c in report.get("checks", []) if not c.get("ok")],
        "info": report.get("info", {}),
    }


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's generated `title` strings (not properties named title): they cost tokens, say nothing."""
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


async def _slim_tools_list(ctx: Any, call_next: Any) -> Any:
    result = await call_next(ctx)
    if getattr(ctx, "method", None) == "tools/list" and isinstance(result, dict):
        for tool in result.get("tools", []):
            tool.pop("outputSchema", None)
            tool["inputSchema"] = _strip_titles(tool.get("inputSchema", {}))
    return result


def stdio_lifespan(hub: Any, settings: Settings) -> Any:
    """For `gateway mcp`: run the event fan-out (e.g. to Redis) while the stdio server runs."""
    from gateway.app.services import streams

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> Any:
        async with streams.serving(hub, settings=settings):
            yield {}

    return lifespan
