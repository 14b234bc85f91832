"""Plan drafts, game briefs and feedback: what every planner reads and writes, whoever wrote the plan."""

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.app.jsondoc import API_INT_MAX, JSON_INTEGER, JsonBool, JsonFloat

Discipline = Literal["design", "programming", "art", "audio", "ui", "qa", "release"]
ArtifactCategory = Literal["code", "asset", "document", "screenshot"]
Scope = Literal["prototype", "mvp", "full"]

DISCIPLINES: tuple[Discipline, ...] = ("design", "programming", "art", "audio", "ui", "qa", "release")
CATEGORIES: tuple[ArtifactCategory, ...] = ("code", "asset", "document", "screenshot")
SCOPES: tuple[Scope, ...] = ("prototype", "mvp", "full")
CODE_PATTERN = r"^T-\d{3,}$"
MILESTONE_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
MAX_TASKS = 2000
MAX_MILESTONES = 20

Code = Annotated[str, Field(pattern=CODE_PATTERN, description="Stable task code, T-001 and up", examples=["T-004"])]
Title = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(max_length=20_000)]
MilestoneKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=MILESTONE_PATTERN,
        description="A milestone's key: lower-case words joined by dashes",
        examples=["vertical-slice"],
    ),
]
ToolRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="A catalogue server (`godot`) or one of its tools (`godot.run_project`)",
        examples=["godot.run_project"],
    ),
]

_BRIEF_EXAMPLE = {
    "title": "Star Courier",
    "pitch": "A courier leaps across a collapsing space station to deliver parcels before the air runs out.",
    "genre": "platformer-2d",
    "engine": "godot",
    "platforms": ["windows", "linux", "web"],
    "art_style": "16x16 pixel art, limited 32-colour palette",
    "audience": "players who enjoy short, skill-based runs",
    "features": ["save-system", "controller-support", "no-leaderboards"],
    "pillars": ["tight, forgiving movement", "every level readable at a glance"],
    "scope": "mvp",
}
_DELIVERABLE_EXAMPLE = {
    "name": "scripts/player/player_controller.gd",
    "category": "code",
    "required": True,
    "description": "CharacterBody2D movement: run, variable jump, coyote time, jump buffer",
}
_MILESTONE_EXAMPLE = {
    "key": "prototype",
    "title": "Prototype",
    "goal": "The core loop is playable with placeholder art, and a playtest says whether it is fun.",
}
_TASK_EXAMPLE = {
    "code": "T-004",
    "idx": 3,
    "title": "Player controller: run, jump and air control",
    "description": "Implement the player in `scripts/player/player_controller.gd` on a `CharacterBody2D` …",
    "discipline": "programming",
    "acceptance_criteria": ["A tap jumps about 2 tiles high and holding the button about 4 tiles"],
    "deliverables": [_DELIVERABLE_EXAMPLE],
    "estimates": {"story_points": 5, "time_hours": 12.0},
    "priority": 5,
    "dependencies": ["T-002", "T-003"],
    "mcp_tools": ["godot.run_project", "godot.get_debug_output", "filesystem.edit_file"],
    "milestone": "prototype",
    "template_key": "player-controller",
}
_NEW_TASK_EXAMPLE = {k: v for k, v in _TASK_EXAMPLE.items() if k not in {"code", "idx", "template_key"}}


def _canonical_features(values: list[str]) -> list[str]:
    from gateway.app.planner.library import normalise_features

    return normalise_features(values)


def _canonical_platforms(values: list[str]) -> list[str]:
    from gateway.app.planner.library import normalise_platforms

    return normalise_platforms(values)


# Integers as JSON Schema reads them, bounds documented (see jsondoc.JSON_INTEGER).
Positive = Annotated[int, Strict(), Field(gt=0, le=API_INT_MAX), JSON_INTEGER]
NonNegative = Annotated[int, Strict(), Field(ge=0, le=API_INT_MAX), JSON_INTEGER]
OneToFive = Annotated[int, Strict(), Field(ge=1, le=5), JSON_INTEGER]


class GameBrief(BaseModel):
    """What the game is: the planner's main input. Every field may be left out; the planner says what it assumed."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [_BRIEF_EXAMPLE]}
    )

    title: str | None = Field(default=None, max_length=200, description="Working title of the game")
    pitch: str | None = Field(default=None, max_length=5000, description="The game in a few sentences, free text")
    genre: str | None = Field(
        default=None,
        max_length=100,
        description="A template genre (platformer-2d, top-down-action, puzzle, rpg, visual-novel, racing, "
        "metroidvania, roguelike-deckbuilder, city-builder, fps) or any genre name; unknown genres fall back to the "
        "nearest template and the plan says so",
    )
    engine: str | None = Field(
        default=None,
        max_length=100,
        description="godot, unity or phaser (aliases such as 'Godot 4', 'Unity 6', 'html5' work); unknown engines "
        "fall back to the nearest template",
    )
    platforms: list[Annotated[str, Field(max_length=50)]] = Field(
        default_factory=list,
        max_length=20,
        description="Target platforms, normalised: windows, macos, linux, web, android, ios, switch, playstation, "
        "xbox ('pc' → windows, 'mobile' → android + ios, 'html5' → web)",
    )
    art_style: str | None = Field(default=None, max_length=500, description="Visual style, e.g. '16x16 pixel art'")
    audience: str | None = Field(default=None, max_length=500, description="Who the game is for")
    features: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=40,
        description="The game's features in the brief's words ('double jump', 'online co-op', 'save rooms'); exact "
        "module names are normalised to canonical ones (multiplayer, local-multiplayer, save-system, localisation, "
        "controller-support, procedural-levels, leaderboards, achievements, touch-controls, accessibility, "
        "console-port), the rest kept kebab-cased. The planner matches each by meaning to a module or a genre task, "
        "and gives one nothing covers its own tasks. 'no-X' or '-X' (or 'no X', 'without X') leaves out what X names",
    )
    pillars: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=10, description="Design pillars: what every decision should serve"
    )
    scope: Scope = Field(
        default="mvp",
        description="prototype = smallest playable, mvp = releasable core, full = everything the template has",
    )

    @field_validator("features")
    @classmethod
    def _normalise_features(cls, value: list[str]) -> list[str]:
        return _canonical_features(value)

    @field_validator("platforms")
    @classmethod
    def _normalise_platforms(cls, value: list[str]) -> list[str]:
        return _canonical_platforms(value)


class Estimates(BaseModel):
    """How big a task is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"story_points": 5, "time_hours": 12}]})

    story_points: Positive = Field(description="Relative size, Fibonacci-like (1, 2, 3, 5, 8, 13)")
    time_hours: JsonFloat = Field(gt=0, allow_inf_nan=False, description="Expected working hours for one developer")


class Deliverable(BaseModel):
    """A file a task hands in; checked against the task's valid artifacts."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [_DELIVERABLE_EXAMPLE]}
    )

    name: str = Field(min_length=1, max_length=300, description="Project-relative path of the file")
    category: ArtifactCategory = Field(description="code | asset | document | screenshot")
    required: JsonBool = Field(default=True, description="Whether the task is done only when this file is handed in")
    description: str | None = Field(default=None, max_length=1000, description="What the file holds")


class Milestone(BaseModel):
    """A stage of the plan (prototype, vertical slice, alpha…): tasks are grouped into milestones, in order."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [_MILESTONE_EXAMPLE]}
    )

    key: MilestoneKey
    title: Title = Field(description="The milestone's name as people say it")
    goal: Text | None = Field(default=None, description="What is true when the milestone is reached")


class _TaskFields(BaseModel):
    """The fields a task shares with the tasks a user adds."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title = Field(description="What to do, in a few words")
    description: Text = Field(description="What to do and how, concretely enough for a developer or an agent")
    discipline: Discipline = Field(description="design | programming | art | audio | ui | qa | release")
    acceptance_criteria: list[Annotated[str, Field(max_length=1000)]] = Field(
        max_length=50, description="Checks that say the task is done; at least one"
    )
    deliverables: list[Deliverable] = Field(default_factory=list, max_length=50, description="Files to hand in")
    estimates: Estimates
    priority: OneToFive = Field(description="1 (can wait) to 5 (most urgent)")
    dependencies: list[Code] = Field(
        default_factory=list, max_length=100, description="Codes of tasks that must be done first"
    )
    mcp_tools: list[ToolRef] = Field(
        default_factory=list, max_length=30, description="Suggested MCP tools, `server` or `server.tool`"
    )
    milestone: MilestoneKey | None = Field(
        default=None,
        description="Key of the plan milestone the task belongs to; required when the plan has milestones (a task "
        "added by an edit without one joins the milestone of the task before it)",
    )


class TaskDraft(_TaskFields):
    """One task of a plan draft."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TASK_EXAMPLE]})

    code: Code
    idx: NonNegative = Field(description="Position in the plan: 0..n-1, a topological order of the dependencies")
    template_key: str | None = Field(
        default=None,
        max_length=100,
        description="The template task this one came from (null for tasks a user added); a scope change matches "
        "tasks by it, so a task keeps its code and the user's edits across versions",
    )


class PlanDraft(BaseModel):
    """A proposed plan: summary, tasks and what the planner wants the user to know."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "summary": "MVP plan for Star Courier, a 2D platformer in Godot 4: 26 tasks, 104 story points.",
                    "milestones": [_MILESTONE_EXAMPLE],
                    "tasks": [_TASK_EXAMPLE],
                    "notes": ["Feature 'leaderboards' left out as the brief asked."],
                    "template": "platformer-2d/godot",
                    "scope": "mvp",
                    "features": ["save-system", "controller-support", "no-leaderboards"],
                    "highest_code": 26,
                }
            ]
        },
    )

    summary: Text = Field(description="The plan in a paragraph, including any template fallback and why")
    milestones: list[Milestone] = Field(
        default_factory=list,
        max_length=MAX_MILESTONES,
        description="The plan's milestones in order (empty = no milestones); every task then names one, and no task "
        "depends on a task of a later milestone",
    )
    tasks: list[TaskDraft] = Field(max_length=MAX_TASKS, description="Tasks in idx order")
    notes: list[Annotated[str, Field(max_length=5000)]] = Field(
        default_factory=list,
        max_length=200,
        description="What the planner assumed, fell back to, left out or did not interpret",
    )
    template: str | None = Field(
        default=None, max_length=100, description="'genre/engine' of the template used, e.g. 'platformer-2d/godot'"
    )
    scope: Scope = Field(default="mvp", description="The scope the plan was built for")
    features: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=40,
        description="The feature choices the plan was built from (canonical names, 'no-X' for removals); a scope "
        "change starts from these",
    )
    highest_code: NonNegative = Field(
        default=0,
        description="Highest task number ever used in this plan's history; new tasks are numbered above it, so a "
        "removed code is never reused",
    )

    def details(self) -> dict[str, Any]:
        """What a stored plan version needs besides its summary and task rows (for a `details` JSON column)."""
        return {
            "template": self.template,
            "scope": self.scope,
            "features": list(self.features),
            "highest_code": self.highest_code,
            "notes": list(self.notes),
            "template_keys": {t.code: t.template_key for t in self.tasks if t.template_key},
        }

    @classmethod
    def from_parts(
        cls,
        *,
        summary: str,
        tasks: list["TaskDraft | dict[str, Any]"],
        details: dict[str, Any] | None = None,
        milestones: Sequence["Milestone | dict[str, Any]"] | None = None,
    ) -> "PlanDraft":
        """Rebuild a draft from a stored summary, task rows (TaskDraft fields), the `details()` it was saved with
        and its milestones."""
        details = details or {}
        keys = details.get("template_keys", {})
        rows = []
        for item in tasks:
            row = item.model_dump() if isinstance(item, BaseModel) else dict(item)
            if not row.get("template_key") and row.get("code") in keys:
                row["template_key"] = keys[row["code"]]
            rows.append(row)
        return cls(
            summary=summary,
            milestones=list(milestones or []),
            tasks=rows,
            notes=details.get("notes", []),
            template=details.get("template"),
            scope=details.get("scope", "mvp"),
            features=details.get("features", []),
            highest_code=details.get("highest_code", 0),
        )


class NewTask(_TaskFields):
    """A task to add: code and idx may be left out (the code becomes the next free T-NNN)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_NEW_TASK_EXAMPLE]})

    code: Code | None = None
    idx: NonNegative | None = Field(default=None, description="Position wanted when `after` is not given")


# A field a change may leave out but never set to null: documented without null (issue 11).
LeftOut = SkipJsonSchema[None]


class TaskChanges(BaseModel):
    """Fields of a task to change; those left out keep their value."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"priority": 5, "estimates": {"story_points": 8, "time_hours": 20}}]},
    )

    # Bounds go on the list itself: on the union with null they would be checked against a null too (a 500).
    title: Title | LeftOut = Field(default=None, description="New title")
    description: Text | LeftOut = Field(default=None, description="New description")
    discipline: Discipline | LeftOut = Field(default=None, description="New discipline")
    acceptance_criteria: Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=50)] | LeftOut = (
        Field(default=None, description="Replaces the acceptance criteria")
    )
    deliverables: Annotated[list[Deliverable], Field(max_length=50)] | LeftOut = Field(
        default=None, description="Replaces the deliverables"
    )
    estimates: Estimates | LeftOut = Field(default=None, description="New estimates")
    priority: OneToFive | LeftOut = Field(default=None, description="New priority, 1 to 5")
    dependencies: Annotated[list[Code], Field(max_length=100)] | LeftOut = Field(
        default=None, description="Replaces the dependencies"
    )
    mcp_tools: Annotated[list[ToolRef], Field(max_length=30)] | LeftOut = Field(
        default=None, description="Replaces the suggested tools"
    )
    milestone: MilestoneKey | LeftOut = Field(
        default=None,
        description="Moves the task to this milestone; tasks that would then depend on a later milestone follow it",
    )

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value

    def changed(self) -> dict[str, Any]:
        """The fields this change sets, as plain data."""
        return self.model_dump(exclude_unset=True)


class AddTask(BaseModel):
    """Add a task after another one (or at its `idx`, or at the end)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"op": "add", "task": _NEW_TASK_EXAMPLE, "after": "T-003"}]}
    )

    op: Literal["add"]
    task: NewTask
    after: Code | None = Field(default=None, description="Place it right after this task; null = at task.idx or last")


class RemoveTask(BaseModel):
    """Remove a task; tasks that depended on it inherit its dependencies."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"op": "remove", "code": "T-012"}]})

    op: Literal["remove"]
    code: Code


class EditTask(BaseModel):
    """Change some fields of a task."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"op": "edit", "code": "T-004", "changes": {"priority": 5}}]}
    )

    op: Literal["edit"]
    code: Code
    changes: TaskChanges


class MoveTask(BaseModel):
    """Move a task right after another one (null = first); dependencies still win over the wanted position."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"op": "move", "code": "T-009", "after": "T-004"}]}
    )

    op: Literal["move"]
    code: Code
    after: Code | None = None


class SplitTask(BaseModel):
    """Split a task into chained parts; the first keeps the code, and each dependent waits for the part it needs.

    A dependent is rewired to the part whose title and deliverables its title, description and acceptance criteria
    name (words only that part has); when none is named, to the first part (which keeps the code).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"op": "split", "code": "T-004", "into": [_NEW_TASK_EXAMPLE, _NEW_TASK_EXAMPLE]}]
        },
    )

    op: Literal["split"]
    code: Code
    into: list[NewTask] = Field(min_length=2, max_length=20)


class MergeTasks(BaseModel):
    """Merge tasks into the first one; dependencies on the others point to it afterwards."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"op": "merge", "codes": ["T-014", "T-015"], "into": {"title": "Menus"}}]},
    )

    op: Literal["merge"]
    codes: list[Code] = Field(min_length=2, max_length=50)
    into: TaskChanges | None = Field(default=None, description="Fields to set on the merged task")


class ChangeScope(BaseModel):
    """Rebuild the plan from its template for another scope or feature set; codes and user edits are kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"op": "scope", "scope": "full", "add_features": ["localisation"]}]},
    )

    op: Literal["scope"]
    scope: Scope | None = Field(default=None, description="New scope; null keeps the current one")
    add_features: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=20)
    remove_features: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=20)

    @field_validator("add_features", "remove_features")
    @classmethod
    def _normalise(cls, value: list[str]) -> list[str]:
        return _canonical_features(value)


class AddMilestone(BaseModel):
    """Add a milestone (at the end, or right after or before another one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "op": "add_milestone",
                    "milestone": {"key": "post-launch", "title": "Post-launch", "goal": "First content update"},
                    "after": "release",
                }
            ]
        },
    )

    op: Literal["add_milestone"]
    milestone: Milestone
    after: MilestoneKey | None = Field(default=None, description="Place it right after this milestone")
    before: MilestoneKey | None = Field(default=None, description="Place it right before this milestone")


class EditMilestone(BaseModel):
    """Rename a milestone (its title, its key or both) or change its goal; its tasks follow a new key."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"op": "edit_milestone", "key": "alpha", "title": "Feature complete"}]},
    )

    op: Literal["edit_milestone"]
    key: MilestoneKey
    new_key: MilestoneKey | None = Field(default=None, description="New key; the milestone's tasks follow it")
    title: Title | None = Field(default=None, description="New title")
    goal: Text | None = Field(default=None, description="New goal")


class RemoveMilestone(BaseModel):
    """Remove a milestone; its tasks move to `into` (default: the next milestone, or the previous for the last)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"op": "remove_milestone", "key": "beta", "into": "release"}]},
    )

    op: Literal["remove_milestone"]
    key: MilestoneKey
    into: MilestoneKey | None = Field(default=None, description="Where the milestone's tasks go")


Edit = Annotated[
    AddTask
    | RemoveTask
    | EditTask
    | MoveTask
    | SplitTask
    | MergeTasks
    | ChangeScope
    | AddMilestone
    | EditMilestone
    | RemoveMilestone,
    Field(discriminator="op"),
]


class Feedback(BaseModel):
    """What the user wants changed: free text (read by the planner) and structured edits (applied in order)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Movement matters most; art can wait.",
                    "edits": [
                        {"op": "edit", "code": "T-004", "changes": {"priority": 5}},
                        {"op": "remove", "code": "T-019"},
                    ],
                }
            ]
        },
    )

    text: Text | None = Field(
        default=None,
        description="Free-text feedback. The template planner reads common requests point by point (drop/remove X, "
        "add X, move X to a later/earlier/named milestone, prioritise X, X can wait, smaller/bigger scope, add or "
        "rename a milestone) and says in the notes how each point was handled",
    )
    edits: list[Edit] = Field(default_factory=list, max_length=500, description="Structured edits, applied in order")


class PlanningRequest(BaseModel):
    """Everything a planner gets: the brief, the active context, the previous version and the feedback on it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"brief": _BRIEF_EXAMPLE, "context": None, "previous": None, "feedback": None}]
        },
    )

    brief: GameBrief
    context: dict[str, Any] | None = Field(default=None, description="Content of the active global context")
    previous: PlanDraft | None = Field(default=None, description="The version the feedback is about")
    feedback: Feedback | None = None
