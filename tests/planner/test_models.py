"""The planner's pydantic models: normalisation, strictness and documented examples."""

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from gateway.app.planner import models
from gateway.app.planner.models import (
    AddTask,
    ChangeScope,
    Deliverable,
    Edit,
    Estimates,
    Feedback,
    GameBrief,
    NewTask,
    PlanDraft,
    PlanningRequest,
    TaskChanges,
    TaskDraft,
)


def test_brief_normalises_feature_spellings_and_removals() -> None:
    brief = GameBrief(
        features=["Localization", "save system", "gamepad", "no leaderboards", "-achievements", "Jetpack"]
    )
    assert brief.features == [
        "localisation",
        "save-system",
        "controller-support",
        "no-leaderboards",
        "no-achievements",
        "jetpack",
    ]


def test_brief_later_feature_choice_wins() -> None:
    assert GameBrief(features=["save-system", "no save", ""]).features == ["no-save-system"]
    assert GameBrief(features=["without gamepad", "controller"]).features == ["controller-support"]


def test_brief_normalises_platforms() -> None:
    brief = GameBrief(platforms=["PC", "Mac", "mobile", "HTML5", "Steam Deck", "android", "Amiga", " "])
    assert brief.platforms == ["windows", "macos", "android", "ios", "web", "linux", "amiga"]


def test_brief_defaults_and_strictness() -> None:
    brief = GameBrief()
    assert brief.scope == "mvp"
    assert brief.features == []
    assert brief.platforms == []
    assert brief.pillars == []
    with pytest.raises(ValidationError):
        GameBrief(genre="rpg", budget=10)
    with pytest.raises(ValidationError):
        GameBrief(scope="huge")


def test_estimates_priority_and_code_are_constrained() -> None:
    with pytest.raises(ValidationError):
        Estimates(story_points=0, time_hours=1)
    with pytest.raises(ValidationError):
        Estimates(story_points=1, time_hours=float("inf"))
    base = {
        "code": "T-001",
        "idx": 0,
        "title": "A",
        "description": "B",
        "discipline": "qa",
        "acceptance_criteria": ["C"],
        "estimates": {"story_points": 1, "time_hours": 1},
        "priority": 3,
    }
    assert TaskDraft(**base).dependencies == []
    for change in ({"priority": 6}, {"code": "T-1"}, {"code": "X-001"}, {"idx": -1}, {"discipline": "marketing"}):
        with pytest.raises(ValidationError):
            TaskDraft(**{**base, **change})
    with pytest.raises(ValidationError):
        Deliverable(name="a.png", category="image")


def test_task_changes_accept_omitted_fields_but_not_nulls() -> None:
    assert TaskChanges(priority=5).changed() == {"priority": 5}
    with pytest.raises(ValidationError):
        TaskChanges(title=None)


def test_edits_are_a_discriminated_union() -> None:
    adapter = TypeAdapter(list[Edit])
    edits = adapter.validate_python(
        [
            {"op": "remove", "code": "T-002"},
            {"op": "move", "code": "T-003"},
            {"op": "scope", "scope": "full", "add_features": ["localization"], "remove_features": ["gamepad"]},
            {"op": "merge", "codes": ["T-001", "T-002"]},
        ]
    )
    assert [e.op for e in edits] == ["remove", "move", "scope", "merge"]
    assert edits[2].add_features == ["localisation"]
    assert edits[2].remove_features == ["controller-support"]
    with pytest.raises(ValidationError):
        adapter.validate_python([{"op": "rename", "code": "T-001"}])
    with pytest.raises(ValidationError):
        adapter.validate_python([{"op": "split", "code": "T-001", "into": []}])
    with pytest.raises(ValidationError):
        adapter.validate_python([{"op": "merge", "codes": ["T-001"]}])


def test_new_task_code_and_idx_are_optional() -> None:
    new = NewTask(
        title="Wall jump",
        description="Add wall jumps.",
        discipline="programming",
        acceptance_criteria=["Works"],
        estimates=Estimates(story_points=2, time_hours=3),
        priority=3,
    )
    assert new.code is None
    assert new.idx is None
    assert AddTask(op="add", task=new).after is None


@pytest.mark.parametrize(
    "model",
    [
        GameBrief,
        Estimates,
        Deliverable,
        TaskDraft,
        PlanDraft,
        NewTask,
        TaskChanges,
        AddTask,
        models.RemoveTask,
        models.EditTask,
        models.MoveTask,
        models.SplitTask,
        models.MergeTasks,
        ChangeScope,
        Feedback,
        PlanningRequest,
    ],
)
def test_every_public_model_documents_a_valid_example(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    examples = schema.get("examples")
    assert examples, f"{model.__name__} has no example"
    for example in examples:
        model.model_validate(example)
    described = [name for name, prop in schema.get("properties", {}).items() if "description" in prop]
    assert described or model in {Estimates}, f"{model.__name__} documents no field"


def test_a_draft_round_trips_through_details(plan: PlanDraft) -> None:
    details = plan.details()
    assert details["template"] == "platformer-2d/godot"
    assert details["template_keys"][plan.tasks[0].code] == plan.tasks[0].template_key
    rows = [t.model_dump(exclude={"template_key"}) for t in plan.tasks]  # what task rows hold
    restored = PlanDraft.from_parts(summary=plan.summary, tasks=rows, details=details, milestones=plan.milestones)
    assert restored.model_dump() == plan.model_dump()
    assert PlanDraft.from_parts(summary="S", tasks=plan.tasks[:1]).template is None


@pytest.mark.parametrize(
    ("field", "value"), [("idx", "0"), ("priority", "3"), ("priority", True), ("estimates", {"story_points": "5"})]
)
def test_numbers_in_a_draft_are_taken_as_sent(plan: PlanDraft, field: str, value: object) -> None:
    """Issue 11: `task.idx` and other values were coerced ("3" became 3); a draft says exactly what it means."""
    data = plan.model_dump(mode="json")
    task = data["tasks"][0]
    task[field] = {**task[field], **value} if isinstance(value, dict) else value
    with pytest.raises(ValidationError):
        PlanDraft.model_validate(data)


def test_a_json_integer_may_be_written_with_a_zero_fraction(plan: PlanDraft) -> None:
    """JSON Schema's integer: 3.0 is one (the documented schema admits it), "3" and true are not."""
    data = plan.model_dump(mode="json")
    data["tasks"][0]["priority"] = 3.0
    assert PlanDraft.model_validate(data).tasks[0].priority == 3


@pytest.mark.parametrize("field", ["acceptance_criteria", "deliverables", "dependencies", "mcp_tools"])
def test_a_null_list_in_task_changes_is_refused_not_a_crash(field: str) -> None:
    """Issue 11: a bound on `list | null` was checked against the null itself (TypeError: a 500)."""
    with pytest.raises(ValidationError):
        TaskChanges.model_validate({field: None})
