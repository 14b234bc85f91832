"""Request and response bodies of import and export."""

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from gateway.app.schemas.common import InputModel, OutputModel
from gateway.app.schemas.plans import PlanRead

ImportFormat = Literal["auto", "taskmaster", "backlog", "speckit", "gateway"]
ExportFormat = Literal["markdown", "csv", "json"]


class ImportFile(InputModel):
    """One file to import: its name (used in messages) and its text."""

    model_config = ConfigDict(str_strip_whitespace=False)

    name: Annotated[str, Field(min_length=1, max_length=300)]
    content: Annotated[str, Field(max_length=5_000_000)]


class ImportRequest(InputModel):
    """Files written by another tool (or exported by a gateway) to import as the next plan version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "speckit",
                    "files": [
                        {
                            "name": "tasks.md",
                            "content": "# Tasks: Star Courier\n\n## Phase 1: Setup\n\n"
                            "- [ ] T001 Create the Godot project\n- [ ] T002 [P] Configure linting\n",
                        }
                    ],
                }
            ]
        }
    )

    format: ImportFormat = Field(
        default="auto",
        description="taskmaster (tasks.json), backlog (Backlog.md task files), speckit (tasks.md), gateway (a plan "
        "exported as JSON), or auto to recognise it",
    )
    files: list[ImportFile] = Field(min_length=1, max_length=2000, description="One file, or Backlog.md's task files")
    tag: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="Task Master: import only this tag (default: every tag, one milestone each)"
    )


class ImportResult(OutputModel):
    """What an import made: the proposed version, and what could not be carried over."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "taskmaster",
                    "created": True,
                    "unmapped": [
                        "task 2 (master.tasks[1]): status 'in-progress' has no match here; imported as pending",
                        "field 'assignee' (1 task) has no place in a gateway plan",
                    ],
                    "progress": {"T-001": {"status": "done", "reason": None}},
                    "plan": {"version": 3, "status": "proposed", "created_by": "user", "tasks": []},
                }
            ]
        }
    )

    format: str = Field(description="The format the files were read as")
    created: bool = Field(description="False when the same files were imported before: nothing changed")
    unmapped: list[str] = Field(description="What the importer could not map, one line each")
    progress: dict[str, dict[str, Any]] = Field(description="Statuses carried from the other tool, by task code")
    plan: PlanRead


class ProjectArchive(InputModel):
    """A project's whole history, as `GET /projects/{id}/archive` writes it (rows as stored, ids included)."""

    model_config = ConfigDict(
        extra="allow",
        str_strip_whitespace=False,
        json_schema_extra={
            "examples": [
                {
                    "format": "gateway-archive",
                    "version": 1,
                    "exported_at": "2026-12-01T15:00:00+00:00",
                    "gateway_version": "0.1.0",
                    "project": {"id": "star-courier", "name": "Star Courier", "status": "active", "event_seq": 42},
                    "plans": [{"id": 1, "version": 1, "status": "accepted", "summary": "…"}],
                    "tasks": [{"id": 1, "plan_id": 1, "code": "T-001", "title": "Design document", "status": "done"}],
                    "contexts": [{"id": 1, "scope": "global", "version": 1, "is_active": True, "content": "{}"}],
                    "artifacts": [{"id": 1, "task_id": 1, "path": "docs/game-design.md", "sha256": "ab…"}],
                    "events": [{"seq": 1, "type": "project.created", "data": "{}", "actor": "user"}],
                }
            ]
        },
    )

    format: Literal["gateway-archive"]
    version: int = Field(description="Archive format version (1)")
    exported_at: str | None = None
    gateway_version: str | None = None
    project: dict[str, Any] = Field(description="The project's row")
    plans: list[dict[str, Any]] = Field(description="Every plan version's row")
    tasks: list[dict[str, Any]] = Field(description="Every task's row (of every version)")
    contexts: list[dict[str, Any]] = Field(description="Every context version's row")
    artifacts: list[dict[str, Any]] = Field(description="Every artifact's metadata (not its file)")
    events: list[dict[str, Any]] = Field(description="The project's events, in seq order")
