"""What every MCP tool shares: its dependencies, argument types, annotations, answer format and call scope."""

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from asgi_correlation_id import correlation_id
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from gateway.app.auth import policy, tokens
from gateway.app.auth.gate import PRINCIPAL
from gateway.app.auth.principal import Principal, acting_as
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.errors import DomainError, NotFound
from gateway.app.logging import get_logger, valid_request_id
from gateway.app.storage import BlobStore

# list_projects and resources/list name at most this many projects (newest first).
LISTED_PROJECTS = 200

log = get_logger("gateway.mcp")


@dataclass(frozen=True)
class Deps:
    """What the tools, resources and prompts work with."""

    db: DatabaseManager
    store: BlobStore
    settings: Settings
    # Who calls over a transport without HTTP requests (stdio: GATEWAY_TOKEN's principal; in-process clients).
    # Calls over HTTP act as the principal the app's gate authenticated, never as this one.
    principal: Principal | None = None


ProjectId = Annotated[str, Field(description="Project id", max_length=64)]
AgentId = Annotated[
    str | None,
    Field(
        description="Optional: your agent name. With an agent token it is the token's (the default); "
        "without a token (local mode), any stable name",
        pattern=r"^[A-Za-z0-9._:@-]{1,64}$",
    ),
]
TaskRef = Annotated[str, Field(description="Task code (T-004) or id", max_length=32)]


# An optional task: annotate `Annotated[OptionalTask, Field(description=...)]` so that the description sits at the
# top of the argument's schema (a description inside the union would land in `anyOf`, where clients never look).
OptionalTask = Annotated[str, Field(max_length=32)] | None
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False)


@dataclass(frozen=True)
class Call:
    """One authorized tool call: who makes it, and the agent name its changes are recorded under."""

    request_id: str
    principal: Principal
    agent_id: str | None

    @property
    def holder(self) -> str:
        """The name a claim is held under: the agent's, else the caller's own."""
        return self.agent_id or self.principal.name

    @property
    def actor(self) -> str:
        """The actor the changes are recorded under."""
        return f"agent:{self.holder}" if self.agent_id or self.principal.is_agent else "user"


def caller(ctx: Context | None, deps: Deps) -> Principal | None:
    """The principal of a call: the HTTP request's (set by the gate), else the transport's (stdio, in-process)."""
    request = getattr(ctx.request_context, "request", None) if ctx is not None else None
    if request is not None and hasattr(request, "scope"):
        return request.scope.get(PRINCIPAL)
    return deps.principal


def answer(data: Any, *, structured: dict[str, Any] | None = None) -> CallToolResult:
    """A compact JSON answer (agents pay for every token) and the same JSON as structured content.

    The structured content is what the tool's output schema (mcp/answers.py) describes; `structured` is given
    only where the text is not an object (a list is named in an object there).
    """
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    content = [TextContent(type="text", text=text)]
    # Parsed back from the text, so both say the same (dates as ISO strings) and it is plain JSON.
    return CallToolResult(
        content=content, structured_content=structured if structured is not None else json.loads(text)
    )


# Where a service names a field by its place in an HTTP request, the agent reads its own argument's name.
REQUEST_PARTS = ("body", "query", "path", "header")
# JSON-RPC error code the MCP specification gives to a resource that does not exist.
RESOURCE_NOT_FOUND = -32002


def _field(loc: Any, renames: Mapping[str, str]) -> str:
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] in REQUEST_PARTS:
        parts = parts[1:]
    if parts:
        parts[0] = renames.get(parts[0], parts[0])
    return ".".join(parts) or "arguments"


def field_errors(errors: list[dict[str, Any]], renames: Mapping[str, str] | None = None) -> str:
    """Invalid arguments, one short `argument: problem` each, named as the agent sent them."""
    lines = [f"{_field(e.get('loc', ()), renames or {})}: {e.get('msg', 'invalid')}" for e in errors[:20]]
    return "; ".join(dict.fromkeys(lines))


def validation_message(exc: ValidationError, renames: Mapping[str, str] | None = None) -> str:
    """A pydantic refusal as an agent should read it: no dump, no documentation URL."""
    errors = [
        {"loc": e["loc"], "msg": e["msg"].removeprefix("Value error, ")}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return f"validation-error: {field_errors(errors, renames)}"


def reason(exc: DomainError, renames: Mapping[str, str] | None = None) -> str:
    """The refusal as the REST API words it: problem type, then detail, then each invalid argument by its name."""
    message = f"{exc.slug}: {exc.detail}"
    errors = exc.extensions.get("errors") or []
    if errors:
        message += " | " + field_errors(errors, renames)
    for key in ("current_status", "missing", "waiting_on", "current_version", "claimed_by"):
        if key in exc.extensions:
            message += f" | {key}={json.dumps(exc.extensions[key], default=str)}"
    return message


@contextmanager
def tool_call(
    ctx: Context | None,
    tool: str,
    deps: Deps,
    *,
    project_id: str | None = None,
    agent_id: str | None = None,
    error: Callable[[str], Exception] = ToolError,
    renames: Mapping[str, str] | None = None,
) -> Iterator[Call]:
    """Scope of one tool call: its correlation id, its authorization (policy.TOOLS), its log line, its errors.

    Refusals reach the client as `error` (a tool error; resources and prompts pass their own kind; a resource
    that does not exist is the protocol's not-found error). `renames` maps a service's field names to the
    tool's argument names, for the refusals' wording.
    """
    headers = (ctx.headers if ctx is not None else None) or {}
    sent = headers.get("x-request-id")
    request_id = correlation_id.get() or (sent if sent and valid_request_id(sent) else uuid.uuid4().hex)
    token = correlation_id.set(request_id)
    started = time.perf_counter()
    outcome = "ok"
    principal = caller(ctx, deps)
    call: Call | None = None
    try:
        with acting_as(principal):
            call = _authorize(deps, tool, principal, project_id=project_id, agent_id=agent_id, request_id=request_id)
            yield call
    except DomainError as exc:
        outcome = exc.slug
        if error is resource_error and isinstance(exc, NotFound):
            raise MCPError(code=RESOURCE_NOT_FOUND, message=f"Resource not found: {exc.detail}") from None
        raise error(reason(exc, renames)) from None
    except ValidationError as exc:
        outcome = "validation-error"
        raise error(validation_message(exc, renames)) from None
    finally:
        log.info(
            "mcp tool call",
            tool=tool,
            agent_id=call.agent_id if call is not None else agent_id,
            outcome=outcome,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            **(principal.audit() if principal is not None else {"principal": None}),
        )
        correlation_id.reset(token)


def _authorize(
    deps: Deps, tool: str, principal: Principal | None, *, project_id: str | None, agent_id: str | None, request_id: str
) -> Call:
    """The same decision the REST API makes for the same action (policy.TOOLS names it)."""

    def is_member(pid: str) -> bool:
        if principal is None or principal.id is None:
            return False
        with deps.db.read_session() as session:
            return tokens.is_member(session, project_id=pid, principal_id=principal.id)

    def has_tokens(name: str) -> bool:
        with deps.db.read_session() as session:
            return tokens.agent_has_tokens(session, name)

    policy.decide(principal, policy.TOOLS.get(tool), project_id=project_id, is_member=is_member, what=f"Tool {tool}")
    assert principal is not None  # decide() refuses anonymous callers of every tool
    return Call(request_id, principal, policy.acting_agent(principal, agent_id, agent_has_tokens=has_tokens))


def visibility(principal: Principal) -> dict[str, Any]:
    """The filter of the projects a principal may see (none for administrators)."""
    if principal.sees_all_projects:
        return {}
    if principal.is_agent:
        return {"only": principal.projects}
    return {"member_id": principal.id if principal.id is not None else -1}


def resource_error(message: str) -> Exception:
    """A refusal as a resource read's error (its message reaches the client)."""
    return ResourceError(message)


def prompt_error(message: str) -> Exception:
    """A refusal as a prompt's error (its message reaches the client)."""
    return MCPError(code=INVALID_PARAMS, message=message)
