"""The shape of each MCP tool's answer: its `outputSchema`, and what its structured content is checked against.

A tool is annotated `-> Annotated[CallToolResult, SomeAnswer]`: the SDK derives the output schema from the
TypedDict and validates the structured content against it; the text content carries the same JSON, compact.
Nested parts (a briefing's task, a context's content) are described, not spelled out: their full shape is in
the services' views and costs an agent tokens on every tools/list.
"""

from typing import Annotated, Any, Literal

from pydantic import Field

# pydantic reads nested TypedDicts only from typing_extensions before Python 3.12.
from typing_extensions import NotRequired, TypedDict  # noqa: UP035

Obj = dict[str, Any]


class ProjectItem(TypedDict):
    id: str
    name: str
    status: str


class ProjectList(TypedDict):
    """The projects you may see."""

    projects: list[ProjectItem]


class Progress(TypedDict):
    """Where a project stands (computed when read)."""

    project_id: str
    name: str
    status: Annotated[str, Field(description="draft|consensus|active|completed")]
    plan: Annotated[Obj | None, Field(description="The accepted version, its task count and summary; null before")]
    open_proposals: NotRequired[Annotated[list[int], Field(description="Versions awaiting a person's decision")]]
    milestones: NotRequired[list[Obj]]
    counts: NotRequired[Annotated[dict[str, int], Field(description="Tasks of the accepted plan by status")]]
    done_percent: NotRequired[int]
    current_task: NotRequired[Obj | None]
    ready: NotRequired[Annotated[list[str], Field(description="Codes of tasks ready to claim, best first")]]


class Notice(TypedDict):
    task: str | None
    status: str
    reason: str | None


# Where a project stands, inside other answers: project_status's answer, not spelled out again.
ProjectNow = Annotated[Obj, Field(description="As project_status answers")]
Notices = Annotated[list[Notice], Field(description="Tasks a re-plan took from you, and why")]


class Briefing(TypedDict):
    """Everything needed to do a task: the task, its dependencies' results, tools and context."""

    task: Annotated[Obj, Field(description="The task: code, status, acceptance criteria, deliverables…")]
    dependencies: Annotated[list[Obj], Field(description="What the tasks it waits for delivered")]
    tools: Annotated[list[Obj], Field(description="Suggested MCP servers for this task")]
    context: Annotated[Obj, Field(description="The global context's relevant parts and the task's own")]
    project: Obj
    notices: NotRequired[Notices]


class Claim(TypedDict):
    """The same shape whether or not a task was ready."""

    claimed: bool
    reason: Annotated[str | None, Field(description="Why nothing was claimed")]
    briefing: Briefing | None
    project: ProjectNow
    notices: Notices


class Outcome(TypedDict):
    code: str | None
    status: str
    claimed_by: str | None
    closed_reason: NotRequired[str]


class Transition(TypedDict):
    """The task after the change, and the project."""

    task: Outcome
    project: ProjectNow


class ArtifactReport(TypedDict):
    """A handed-in file and its validation."""

    artifact_id: int
    name: str
    path: str
    category: str | None
    task_id: int | None
    validation_status: Annotated[str, Field(description="valid|invalid|pending")]
    errors: list[Any]
    failed_checks: list[str]
    info: Obj


class ContextRead(TypedDict):
    version: int
    source: str | None
    content: Annotated[Obj, Field(description="game, conventions, decisions, notes, open questions…")]


class ContextWritten(TypedDict):
    version: Annotated[int, Field(description="The new version (base_version for your next patch)")]
    summary: str | None


class Job(TypedDict):
    """A planning job."""

    id: str
    project_id: str
    kind: str
    status: Annotated[str, Field(description="queued|running|done|failed|cancelled")]
    attempt: int
    max_attempts: int
    base_version: int | None
    plan_version: Annotated[int | None, Field(description="The version it wrote")]
    error: Obj | None
    progress: Obj | None
    cancel_requested: bool
    created_at: str | None
    updated_at: str | None
    started_at: str | None
    finished_at: str | None


class Proposal(TypedDict):
    """The version written, or the job writing it."""

    based_on_version: int | None
    version: NotRequired[int]
    status: NotRequired[str]
    summary: NotRequired[str | None]
    provenance: NotRequired[Obj | None]
    job: NotRequired[Annotated[Obj, Field(description="As get_job answers")]]
    follow: NotRequired[str]


class Draft(Proposal):
    """A draft stored as a proposal (its problems come back as a tool error)."""

    stored: Literal[True]


class PlanningKit(TypedDict):
    """What a planner reads: brief, context, rules, the plan's schema, the tool catalogue."""

    project_id: str
    mode: Literal["propose", "revise"]
    brief: Obj
    context: Obj
    engine: str | None
    template: str | None
    rules: str
    schema: Obj
    catalogue: Any
    submit: str
    previous: NotRequired[Obj | None]
    feedback: NotRequired[str | None]
