"""Job resources: slow AI work (LLM proposals and revisions, memory updates) followed by id."""

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from gateway.app.schemas.common import OutputModel

JobKind = Literal["propose", "revise", "memory"]
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]

_JOB_EXAMPLE = {
    "id": "5b0c7f2e9d0a4e4c8f3b1a2d6e7f8091",
    "project_id": "hollow-lantern",
    "kind": "revise",
    "status": "done",
    "attempt": 1,
    "max_attempts": 2,
    "base_version": 1,
    "plan_version": 2,
    "error": None,
    "progress": {"step": "writing", "message": "storing the new version"},
    "cancel_requested": False,
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:41Z",
    "started_at": "2026-12-01T10:00:01Z",
    "finished_at": "2026-12-01T10:00:41Z",
}


class JobRead(OutputModel):
    """A job: what it does, where it stands, and what it produced or why it failed."""

    model_config = ConfigDict(json_schema_extra={"examples": [_JOB_EXAMPLE]})

    id: str
    project_id: str
    kind: JobKind = Field(description="propose (a plan from the brief), revise (from feedback) or memory")
    status: JobStatus = Field(description="queued → running → done | failed | cancelled")
    attempt: int = Field(description="Attempts started (a run lost to a crash counts)")
    max_attempts: int
    base_version: int | None = Field(description="The version revised (null for a proposal)")
    plan_version: int | None = Field(description="The version written, once done")
    error: dict[str, Any] | None = Field(
        description="Why it failed or was cancelled: type (planning-failed, timeout, interrupted, conflict, "
        "internal-error, cancelled), detail, and the problems of the model's last answer"
    )
    progress: dict[str, Any] | None = Field(description="The latest step reported (also sent as job.progress events)")
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(OutputModel):
    """A page of a project's jobs, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_JOB_EXAMPLE], "next_cursor": None}]})

    items: list[JobRead]
    next_cursor: str | None
