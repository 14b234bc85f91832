"""Builders for hand-made drafts in the planner tests."""

from typing import Any

from gateway.app.planner import PlanDraft
from gateway.app.planner.models import Estimates, TaskDraft


def task(code: str, idx: int, deps: list[str] | None = None, **fields: Any) -> TaskDraft:
    """A valid task for hand-made drafts."""
    values = {
        "code": code,
        "idx": idx,
        "title": f"Task {code}",
        "description": "Do the thing.",
        "discipline": "programming",
        "acceptance_criteria": ["It works"],
        "deliverables": [],
        "estimates": Estimates(story_points=1, time_hours=1),
        "priority": 3,
        "dependencies": deps or [],
        "mcp_tools": [],
    }
    values.update(fields)
    return TaskDraft(**values)


def draft(*tasks: TaskDraft, template: str | None = "platformer-2d/godot") -> PlanDraft:
    """A draft around hand-made tasks."""
    return PlanDraft(summary="A plan.", tasks=list(tasks), template=template)


def by_key(draft_: PlanDraft) -> dict[str, TaskDraft]:
    """The draft's template tasks by template key."""
    return {t.template_key: t for t in draft_.tasks if t.template_key}
