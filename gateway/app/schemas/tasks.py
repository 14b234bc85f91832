"""Task resources."""

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from gateway.app.schemas.common import InputModel, OutputModel, not_null

Title = Annotated[str, Field(min_length=1, max_length=300)]
Priority = Annotated[int, Field(ge=1, le=5, description="1 (lowest) to 5 (highest)")]

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

    title: Title | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    priority: Priority | None = None

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
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @field_validator("estimates", "deliverables", "mcp_tools", mode="before")
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class TaskPage(OutputModel):
    """One page of tasks, in creation order."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE_READ], "next_cursor": None}]})

    items: list[TaskRead]
    next_cursor: str | None = None
