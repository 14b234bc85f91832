"""Project resources."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.app.jsondoc import JsonBool
from gateway.app.planner import GameBrief
from gateway.app.schemas.common import InputModel, OutputModel, not_null

ProjectStatus = Literal["draft", "consensus", "active", "completed"]
Slug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
        description="Lower-case letters, digits and dashes; 1 to 64 characters, no dash at either end.",
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=20_000)]

_EXAMPLE_READ = {
    "id": "star-courier",
    "name": "Star Courier",
    "description": "A 2D platformer about a courier delivering parcels across a collapsing space station.",
    "status": "draft",
    "brief": {
        "title": "Star Courier",
        "genre": "platformer-2d",
        "engine": "godot",
        "platforms": ["windows", "linux"],
        "art_style": "16x16 pixel art",
        "features": ["save-system", "controller-support"],
    },
    "active_plan_id": None,
    "active_context_id": None,
    "current_task_id": None,
    "require_review": False,
    "event_seq": 1,
    "created_at": "2026-11-25T10:00:00Z",
    "updated_at": "2026-11-25T10:00:00Z",
}


class ProjectCreate(InputModel):
    """A new project: its name and what the game is; the id is chosen from the name unless given."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "star-courier",
                    "name": "Star Courier",
                    "description": _EXAMPLE_READ["description"],
                    "brief": _EXAMPLE_READ["brief"],
                }
            ]
        }
    )

    id: Slug | None = None
    name: Name
    description: Description | None = None
    brief: GameBrief | None = Field(
        default=None, description="What the game is: genre, engine, platforms, features… (shapes plan and context)"
    )
    require_review: JsonBool = Field(default=False, description="Completed tasks wait for a user's approval")


class ProjectUpdate(InputModel):
    """Fields to change; those left out keep their value. `brief` is merged into the current brief."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"description": "Now with co-op."},
                {"brief": {"platforms": ["windows", "switch"], "art_style": None}},
            ]
        }
    )

    name: Name | SkipJsonSchema[None] = None
    description: Description | None = None
    brief: dict[str, Any] | SkipJsonSchema[None] = Field(
        default=None,
        description="Part of the brief to change, merged into the current one (JSON Merge Patch, RFC 7386): each "
        "field given replaces its value, `null` resets a field to its default, fields left out are kept. The "
        "result must be a valid brief (see ProjectCreate.brief); the next proposal uses it.",
    )
    require_review: JsonBool | SkipJsonSchema[None] = None

    _not_null = field_validator("name", "brief", "require_review")(not_null)


class ProjectRead(OutputModel):
    """A project as the API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_READ]})

    id: str
    name: str
    description: str | None
    status: ProjectStatus
    brief: dict[str, Any] | None
    active_plan_id: int | None
    active_context_id: int | None
    current_task_id: int | None
    require_review: bool = Field(description="Completed tasks wait in review for a user before they are done")
    event_seq: int = Field(description="Sequence number of the newest event: the state shown is current as of it")
    created_at: datetime
    updated_at: datetime


class ProjectPage(OutputModel):
    """One page of projects, newest first; pass `next_cursor` back as `cursor` for the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EXAMPLE_READ], "next_cursor": "WyIyMDI2LTExLTI1Il0"}]}
    )

    items: list[ProjectRead]
    next_cursor: str | None = None
