"""What every MCP tool shares: its dependencies, argument types, annotations, answer format and call scope."""

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from asgi_correlation_id import correlation_id
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.errors import DomainError
from gateway.app.logging import get_logger, valid_request_id
from gateway.app.storage import BlobStore

log = get_logger("gateway.mcp")


@dataclass(frozen=True)
class Deps:
    """What the tools, resources and prompts work with."""

    db: DatabaseManager
    store: BlobStore
    settings: Settings


ProjectId = Annotated[str, Field(description="Project id", max_length=64)]
AgentId = Annotated[str, Field(description="Your stable agent name", pattern=r"^[A-Za-z0-9._:@-]{1,64}$")]
TaskRef = Annotated[str, Field(description="Task code (T-004) or id", max_length=32)]
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False)


def agent(agent_id: str) -> str:
    """The actor an agent's changes are recorded under."""
    return f"agent:{agent_id}"


def answer(data: Any) -> CallToolResult:
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
