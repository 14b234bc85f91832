"""Which of a task's required deliverables its artifacts satisfy: one rule for every door (REST, MCP, CLI, web).

A deliverable is a file the plan names, by its project-relative path (`docs/game-design.md`) or, when the plan
states only a file name (`project.godot`), by that name. It is satisfied by the task's latest artifact handed in
at that path, when that artifact is valid. Another file of the same category does not count: a shopping list is
not a game design document.
"""

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from sqlmodel import Session, col, select

from gateway.app import task_states
from gateway.app.db import ArtifactDB, TaskDB
from gateway.app.validation.paths import normalise_path


@dataclass(frozen=True)
class Missing:
    """A required deliverable no valid artifact satisfies, and why."""

    path: str
    category: str | None
    reason: str  # "not_handed_in" | "invalid"
    artifact_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the problem's `missing` extension and the MCP error carry."""
        data: dict[str, Any] = {"path": self.path, "name": self.path, "category": self.category, "reason": self.reason}
        if self.artifact_id is not None:
            data["artifact_id"] = self.artifact_id
        return data

    def describe(self) -> str:
        """One line for a refusal's detail."""
        if self.reason == "invalid":
            return f"{self.path} (handed in as artifact {self.artifact_id}, but it is not valid)"
        return f"{self.path} (not handed in)"


def _matches(deliverable: str, artifact: ArtifactDB) -> bool:
    path = normalise_path(artifact.path or "") or ""
    if path == deliverable:
        return True
    # A plan that states only a file name ("project.godot") is satisfied by a file of that name.
    return "/" not in deliverable and deliverable in {PurePosixPath(path).name, artifact.name}


def required(task: TaskDB) -> list[dict[str, Any]]:
    """The task's required deliverables as the plan states them."""
    return [d for d in task_states.deliverables_of(task) if d.get("required", True)]


def missing(session: Session, task: TaskDB) -> list[Missing]:
    """The task's required deliverables that no valid artifact satisfies, each by its normalised path."""
    wanted = required(task)
    if not wanted:
        return []
    artifacts = list(
        session.exec(select(ArtifactDB).where(ArtifactDB.task_id == task.id).order_by(col(ArtifactDB.id).desc()))
    )
    result = []
    for deliverable in wanted:
        stated = str(deliverable.get("name") or "")
        path = normalise_path(stated) or stated
        latest = next((a for a in artifacts if _matches(path, a)), None)  # newest first: a later hand-in wins
        if latest is None:
            result.append(Missing(path, deliverable.get("category"), "not_handed_in"))
        elif latest.validation_status != "valid":
            result.append(Missing(path, deliverable.get("category"), "invalid", latest.id))
    return result
