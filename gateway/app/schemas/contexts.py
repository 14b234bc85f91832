"""Context documents (global and per task) and their versions.

A context is a JSON object an AI agent reads before it works. The known keys are typed and validated; keys a
user adds by hand are kept as they are. Every write makes a new version; nothing is ever rewritten.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.app.schemas.common import OutputModel

Scope = Literal["global", "task"]
Source = Literal["template-default", "ai-generate", "manual-edit"]
MAX_CONTEXT_BYTES = 256 * 1024
# The shape of a context, in one paragraph: the API's and the MCP tools' descriptions carry it.
CONTEXT_SHAPE = (
    "A global context is an object with `game` (title, genre, engine, platforms, art_style, audience, pillars), "
    "`conventions` (object: naming, folders… by key), `decisions` (list of {what, why, when, by, task}), "
    "`constraints` (list of strings), `glossary` (object: term → meaning) and `progress` (kept by the gateway); "
    "a task context has `task`, `decisions`, `dependencies` and anything added by hand (e.g. `notes`, a list). "
    "Keys of your own are kept."
)


class _Open(BaseModel):
    """A part of a context that keeps unknown keys (a user's own additions survive every update)."""

    model_config = ConfigDict(extra="allow")


class Game(_Open):
    """What the game is."""

    title: str | None = None
    genre: str | None = None
    engine: str | None = None
    platforms: list[str] = Field(default_factory=list)
    art_style: str | None = None
    audience: str | None = None
    pillars: list[str] = Field(default_factory=list)


class Decision(_Open):
    """One entry of the decision log."""

    what: str
    why: str | None = None
    when: datetime | None = None
    by: str | None = Field(default=None, description="user, ai, agent:<id> or task:<code>")
    task: str | None = Field(default=None, description="Code of the task the decision came from")


class ProgressItem(_Open):
    """A task as the progress section shows it."""

    code: str | None = None
    title: str
    summary: str | None = None
    artifacts: list[dict[str, Any]] = Field(default_factory=list)


class Progress(_Open):
    """Where the project stands against its accepted plan."""

    plan: dict[str, Any] | None = Field(default=None, description="The accepted plan: id, version, summary")
    total: int = 0
    done_count: int = 0
    done_codes: list[str | None] = Field(default_factory=list, description="Every finished task, in order")
    done: list[ProgressItem] = Field(default_factory=list, description="The latest finished tasks, in detail")
    in_progress: list[ProgressItem] = Field(default_factory=list)
    next: list[ProgressItem] = Field(default_factory=list)


GLOBAL_CONTEXT_EXAMPLE: dict[str, Any] = {
    "game": {
        "title": "Star Courier",
        "genre": "platformer-2d",
        "engine": "godot",
        "platforms": ["windows", "linux"],
        "art_style": "pixel art",
        "audience": "teens and up",
        "pillars": ["tight controls", "short levels"],
    },
    "conventions": {"folders": {"scripts": "scripts/", "scenes": "scenes/"}, "naming": "snake_case"},
    "decisions": [{"what": "Accepted plan v2", "by": "user", "when": "2026-11-25T10:00:00Z"}],
    "constraints": ["60 fps on a 2018 laptop"],
    "glossary": {"coyote time": "a short grace period to jump after leaving a ledge"},
    "progress": {"plan": {"id": 3, "version": 2}, "total": 24, "done": [], "next": []},
}


class GlobalContext(_Open):
    """The project-wide context: the game, its conventions, decisions, constraints, glossary and progress."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [GLOBAL_CONTEXT_EXAMPLE]},
    )

    game: Game
    conventions: dict[str, Any]
    decisions: list[Decision]
    constraints: list[str]
    glossary: dict[str, str]
    progress: Progress


class TaskContext(_Open):
    """What one task adds to the project context: the task named, the decisions that bear on it, its inputs."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "task": {"id": 12, "code": "T-004", "title": "Player controller"},
                    "decisions": [],
                    "dependencies": [{"code": "T-001", "title": "Game design document", "summary": "GDD v1"}],
                }
            ]
        },
    )

    task: dict[str, Any] = Field(description="The task it is for: id, code, title")
    decisions: list[Decision] = Field(default_factory=list, description="Decisions that bear on the task")
    dependencies: list[dict[str, Any]] = Field(
        default_factory=list, description="What the tasks it waits for delivered: summary and files"
    )


CONTENT_MODELS: dict[str, type[BaseModel]] = {"global": GlobalContext, "task": TaskContext}

_VERSION_EXAMPLE = {
    "id": 41,
    "project_id": "star-courier",
    "scope": "global",
    "task_id": None,
    "version": 3,
    "is_active": True,
    "source": "ai-generate",
    "created_by": "ai",
    "summary": "Plan v2 accepted: 24 tasks; next T-001",
    "created_at": "2026-11-25T10:00:00Z",
}


class ContextVersionSummary(OutputModel):
    """One version in a context's history (without its content)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_VERSION_EXAMPLE]})

    id: int
    project_id: str
    scope: Scope
    task_id: int | None
    version: int
    is_active: bool
    source: str | None
    created_by: str
    summary: str | None
    created_at: datetime


class ContextVersionRead(ContextVersionSummary):
    """A context version with its content."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [_VERSION_EXAMPLE | {"content": GLOBAL_CONTEXT_EXAMPLE}]},
    )

    content: dict[str, Any]


class ContextHistory(OutputModel):
    """A page of a context's versions, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_VERSION_EXAMPLE], "next_cursor": None}]})

    items: list[ContextVersionSummary]
    next_cursor: str | None = None


class ContextChange(BaseModel):
    """One difference between two versions, at a JSON Pointer path."""

    op: Literal["added", "removed", "changed"]
    path: str = Field(description="JSON Pointer (RFC 6901) of the value")
    old: Any = None
    new: Any = None


class ContextDiff(BaseModel):
    """What changed from one version to another."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from_version": 2,
                    "to_version": 3,
                    "changes": [
                        {"op": "changed", "path": "/game/title", "old": "Courier", "new": "Star Courier"},
                        {"op": "added", "path": "/decisions/1", "old": None, "new": {"what": "Use Godot 4.3"}},
                    ],
                }
            ]
        }
    )

    from_version: int
    to_version: int
    changes: list[ContextChange]
