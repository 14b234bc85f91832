"""Planning: plan drafts and their rules, the MCP tool catalogue, game templates and the planners.

Pure Python: nothing here touches the database; the services layer stores what the planners return.
"""

from gateway.app.planner.base import Planner, get_planner, planner_kinds
from gateway.app.planner.catalogue import Catalogue, load_catalogue
from gateway.app.planner.library import engines, features, genres, template_keys
from gateway.app.planner.models import (
    AddMilestone,
    AddTask,
    ChangeScope,
    Deliverable,
    Edit,
    EditMilestone,
    EditTask,
    Estimates,
    Feedback,
    GameBrief,
    MergeTasks,
    Milestone,
    MoveTask,
    NewTask,
    PlanDraft,
    PlanningRequest,
    RemoveMilestone,
    RemoveTask,
    SplitTask,
    TaskChanges,
    TaskDraft,
)
from gateway.app.planner.validation import draft_problems, engine_of, ensure_valid


def game_defaults(brief: GameBrief) -> dict:
    """The initial (template-default) project context for a brief."""
    from gateway.app.planner.template import game_defaults as build

    return build(brief)


__all__ = [
    "AddMilestone",
    "AddTask",
    "Catalogue",
    "ChangeScope",
    "Deliverable",
    "Edit",
    "EditMilestone",
    "EditTask",
    "Estimates",
    "Feedback",
    "GameBrief",
    "MergeTasks",
    "Milestone",
    "MoveTask",
    "NewTask",
    "PlanDraft",
    "Planner",
    "PlanningRequest",
    "RemoveMilestone",
    "RemoveTask",
    "SplitTask",
    "TaskChanges",
    "TaskDraft",
    "draft_problems",
    "engine_of",
    "engines",
    "ensure_valid",
    "features",
    "game_defaults",
    "genres",
    "get_planner",
    "load_catalogue",
    "planner_kinds",
    "template_keys",
]
