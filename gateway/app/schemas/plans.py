"""Plan version resources."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.app.planner import Edit, Feedback, Milestone, PlanDraft
from gateway.app.planner.base import Provenance
from gateway.app.schemas.common import InputModel, OutputModel, not_null
from gateway.app.schemas.tasks import TaskRead

PlanStatus = Literal["proposed", "accepted", "superseded", "rejected"]

_SUMMARY_EXAMPLE = {
    "id": 3,
    "project_id": "star-courier",
    "version": 2,
    "status": "proposed",
    "created_by": "ai",
    "summary": "2D platformer in Godot 4: 24 tasks from design to release.",
    "based_on_version": 1,
    "feedback": {"text": "Cut the boss fights.", "edits": [{"op": "remove", "code": "T-014"}]},
    "decision_reason": None,
    "details": {"planner": "template", "template": "platformer-2d/godot", "scope": "mvp", "notes": []},
    "milestones": [
        {"key": "prototype", "title": "Prototype", "goal": "The core loop is playable with placeholder art."},
        {"key": "vertical-slice", "title": "Vertical slice", "goal": "One world plays at final quality."},
    ],
    "provenance": {
        "planner": "llm",
        "provider": "openai-compatible",
        "model": "qwen2.5-coder:7b",
        "prompt_version": "planner/1",
        "attempts": 1,
        "tokens_in": 5210,
        "tokens_out": 3877,
        "latency_ms": 48210.5,
        "cost_usd": 0.0,
    },
    "task_count": 24,
    "created_at": "2026-11-25T10:00:00Z",
    "decided_at": None,
}


class PlanSummary(OutputModel):
    """A plan version without its tasks: who made it, from what, and what became of it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: int
    project_id: str
    version: int
    status: PlanStatus = Field(
        description="proposed (open: any open proposal can be accepted), accepted (the active plan), superseded "
        "(another version was accepted), rejected (a user turned it down)"
    )
    created_by: str = Field(description="ai, user or system")
    summary: str | None
    based_on_version: int | None = Field(description="The version this one was revised or edited from")
    feedback: dict[str, Any] | None = Field(description="The feedback (free text and edits) that produced it")
    decision_reason: str | None = Field(description="Why it was rejected or superseded")
    details: dict[str, Any] = Field(description="Planner, template, scope and the planner's notes")
    milestones: list[Milestone] = Field(
        description="The plan's milestones in order (empty for versions without milestones); each task names one"
    )
    provenance: Provenance = Field(
        description="Who made it (template, llm, agent:<id>, user, import:<tool>) and at what cost: provider, model, "
        "prompt version, attempts, tokens, latency, estimated cost"
    )
    task_count: int
    created_at: datetime
    decided_at: datetime | None


class PlanRead(PlanSummary):
    """A plan version with its tasks in order."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE | {"tasks": []}]})

    tasks: list[TaskRead]


class PlanList(OutputModel):
    """Every version of a project's plan, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUMMARY_EXAMPLE]}]})

    items: list[PlanSummary]


class ProposeRequest(InputModel):
    """Ask the AI for a new plan from the project's brief."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"planner": "template"}, {"planner": "llm"}]})

    planner: Literal["template", "llm"] | None = Field(
        default=None,
        description="Which planner writes the proposal: template (offline, answers 201 with the version) or llm "
        "(answers 202 with a job); default: the configured one (GATEWAY_PLANNER)",
    )


class ReviseRequest(Feedback):
    """Feedback on a version: free text and/or structured edits; the AI writes the next version from it."""

    planner: Literal["template", "llm"] | None = Field(
        default=None,
        description="Who reads the free text: llm (answers 202 with a job) or template (rule-based, 201); default: "
        "the configured planner. Edits alone are always applied at once (201).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Less art, and we need couch co-op.",
                    "edits": [
                        {"op": "remove", "code": "T-012"},
                        {"op": "scope", "add_features": ["local-multiplayer"]},
                    ],
                }
            ]
        },
    )


class EditRequest(InputModel):
    """The user's own next version: either a whole plan, or structured edits of the base version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"edits": [{"op": "edit", "code": "T-003", "changes": {"priority": 5}}], "note": "Jump first"}
            ],
            # Exactly one of the two, as the document says it (issue 11: a body with neither was schema-valid).
            "oneOf": [{"required": ["plan"]}, {"required": ["edits"]}],
        }
    )

    plan: PlanDraft | SkipJsonSchema[None] = None
    edits: list[Edit] | SkipJsonSchema[None] = None
    note: Annotated[str, Field(max_length=4000)] | None = Field(default=None, description="Why, kept with the version")

    _not_null = field_validator("plan", "edits")(not_null)

    @model_validator(mode="after")
    def _exactly_one(self) -> "EditRequest":
        if (self.plan is None) == (self.edits is None):
            raise ValueError("send exactly one of 'plan' (a whole plan) and 'edits'")
        return self


class RejectRequest(InputModel):
    """Why the user rejects a version."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Too big for a three-month jam."}]})

    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class TaskMove(OutputModel):
    """A task whose position changed."""

    code: str
    title: str
    from_idx: int
    to_idx: int


class TaskChange(OutputModel):
    """A task whose fields changed: each field with its old and new value."""

    code: str
    title: str
    fields: dict[str, dict[str, Any]]


class TaskRef(OutputModel):
    """A task added or removed."""

    code: str
    title: str
    idx: int


class MilestoneChange(OutputModel):
    """A milestone whose title or goal changed: each field with its old and new value."""

    key: str
    title: str
    fields: dict[str, dict[str, Any]]


class MilestoneDiff(OutputModel):
    """What changed in the milestones themselves (a task's move between milestones is in `changed`)."""

    added: list[Milestone]
    removed: list[Milestone]
    changed: list[MilestoneChange]
    reordered: bool = Field(description="Whether milestones kept by both versions come in another order")


class PlanDiff(OutputModel):
    """What changed from one version to another, task by task."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from_version": 1,
                    "to_version": 2,
                    "added": [{"code": "T-025", "title": "Local co-op camera", "idx": 9}],
                    "removed": [{"code": "T-012", "title": "Boss fight", "idx": 11}],
                    "changed": [
                        {"code": "T-003", "title": "Player controller", "fields": {"priority": {"old": 3, "new": 5}}}
                    ],
                    "moved": [{"code": "T-003", "title": "Player controller", "from_idx": 4, "to_idx": 2}],
                    "milestones": {
                        "added": [],
                        "removed": [],
                        "changed": [
                            {
                                "key": "alpha",
                                "title": "Feature complete",
                                "fields": {"title": {"old": "Alpha", "new": "Feature complete"}},
                            }
                        ],
                        "reordered": False,
                    },
                }
            ]
        }
    )

    from_version: int
    to_version: int
    added: list[TaskRef]
    removed: list[TaskRef]
    changed: list[TaskChange] = Field(description="Tasks whose fields changed, a move to another milestone included")
    moved: list[TaskMove]
    milestones: MilestoneDiff
