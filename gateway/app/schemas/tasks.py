"""Task resources."""

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.app.jsondoc import JSON_INTEGER, JsonBool
from gateway.app.schemas.common import InputModel, OutputModel, not_null

Title = Annotated[str, Field(min_length=1, max_length=300)]
Priority = Annotated[int, Strict(), Field(ge=1, le=5, description="1 (lowest) to 5 (highest)"), JSON_INTEGER]

_EXAMPLE_READ = {
    "id": 12,
    "project_id": "star-courier",
    "plan_id": None,
    "code": None,
    "idx": 0,
    "title": "Prototype the courier's jump",
    "description": "Variable-height jump with coyote time and a jump buffer.",
    "status": "pending",
    "priority": 3,
    "estimates": None,
    "deliverables": None,
    "mcp_tools": None,
    "discipline": "programming",
    "acceptance_criteria": ["Jump height varies with how long the button is held"],
    "dependencies": ["T-002"],
    "milestone": None,
    "summary": None,
    "blocked_reason": None,
    "claimed_by": None,
    "lease_expires_at": None,
    "started_at": None,
    "completed_at": None,
    "created_at": "2026-11-25T10:00:00Z",
    "updated_at": "2026-11-25T10:00:00Z",
}


class TaskCreate(InputModel):
    """A task outside any plan version (plans bring their own tasks)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{k: _EXAMPLE_READ[k] for k in ("title", "description", "priority")}],
        }
    )

    title: Title
    description: Annotated[str, Field(max_length=20_000)] | None = None
    priority: Priority = 1


class TaskUpdate(InputModel):
    """Fields to change; those left out keep their value."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"priority": 5}]})

    title: Title | SkipJsonSchema[None] = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    priority: Priority | SkipJsonSchema[None] = None

    _not_null = field_validator("title", "priority")(not_null)


class TaskRead(OutputModel):
    """A task as the API shows it; JSON columns come back as JSON."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_READ]})

    id: int
    project_id: str
    plan_id: int | None
    code: str | None
    idx: int
    title: str
    description: str | None
    status: str
    priority: int
    estimates: dict[str, Any] | None
    deliverables: list[Any] | None
    mcp_tools: list[Any] | None
    discipline: str | None
    acceptance_criteria: list[str] | None
    dependencies: list[str] | None
    milestone: str | None = Field(default=None, description="Key of the plan milestone the task belongs to")
    summary: str | None = Field(description="What the task delivered (set on completion)")
    blocked_reason: str | None
    closed_reason: str | None = Field(
        default=None, description="Why the task was closed without being done (e.g. cancelled by a re-plan)"
    )
    claimed_by: str | None = Field(description="The agent holding the task's lease")
    lease_expires_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @field_validator("estimates", "deliverables", "mcp_tools", mode="before")
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        # The seed's columns hold JSON text (its contract types them str); the other JSON columns come parsed.
        return json.loads(value) if isinstance(value, str) else value


class TaskPage(OutputModel):
    """One page of tasks, in creation order."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE_READ], "next_cursor": None}]})

    items: list[TaskRead]
    next_cursor: str | None = None


AgentId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9._:@-]{1,64}$",
        description="Optional: the agent's name. With an agent token it must be the token's agent (the default); "
        "in local mode without a token, any stable name",
    ),
]
LeaseSeconds = Annotated[
    int, Strict(), Field(ge=1, le=86_400, description="How long the claim holds without renewal"), JSON_INTEGER
]
Reason = Annotated[str, Field(min_length=1, max_length=4000)]


class ClaimRequest(InputModel):
    """An agent claims a task (or renews its claim) for a while."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"agent_id": "claude-code-1", "lease_seconds": 900, "start": True}]}
    )

    agent_id: AgentId | None = None
    lease_seconds: LeaseSeconds = 900
    start: JsonBool = Field(
        default=False,
        description="Also start the task in the same transaction (claim and start succeed or fail together)",
    )


class ReleaseRequest(InputModel):
    """An agent gives its claim back."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"agent_id": "claude-code-1"}]})

    agent_id: AgentId | None = None


class StartRequest(InputModel):
    """Start a task; an agent that starts a task it has not claimed claims it too."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"agent_id": "claude-code-1"}]})

    agent_id: AgentId | None = None
    lease_seconds: LeaseSeconds | None = None


class BlockRequest(InputModel):
    """Report what blocks a task."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "The tileset has no slope tiles yet.", "agent_id": "claude-code-1"}]}
    )

    reason: Reason
    agent_id: AgentId | None = None


class CompleteRequest(InputModel):
    """Finish a task with a summary of what it delivered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"summary": "Player controller with coyote time and jump buffer.", "agent_id": "claude-code-1"}
            ]
        }
    )

    summary: Annotated[str, Field(min_length=1, max_length=20_000)]
    agent_id: AgentId | None = None


class NoteRequest(InputModel):
    """An optional note or reason for a transition."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "The jump feels floaty again."}]})

    reason: Reason | None = None


class TaskBriefing(BaseModel):
    """Everything needed to do a task: the task, its dependencies' results, its context and suggested tools."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "task": {
                        "code": "T-005",
                        "title": "Player controller",
                        "status": "in_progress",
                        "deliverables": [],
                    },
                    "dependencies": [{"code": "T-002", "title": "Movement metrics", "status": "done", "summary": "…"}],
                    "tools": [{"name": "godot", "title": "Godot MCP", "tools": [{"name": "run_project"}]}],
                    "context": {"task": None, "global": {"game": {"engine": "godot"}}, "decisions": []},
                    "project": {"id": "star-courier", "name": "Star Courier", "status": "active"},
                }
            ]
        },
    )

    task: dict[str, Any]
    dependencies: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    context: dict[str, Any]
    project: dict[str, Any]
