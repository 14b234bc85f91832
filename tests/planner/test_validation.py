"""Plan-draft rules: each one caught, every problem listed at once, linear on big plans."""

import pytest

from gateway.app.errors import InvalidInput
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.models import Deliverable, Estimates, PlanDraft
from gateway.app.planner.validation import draft_problems, engine_of, ensure_valid
from tests.planner.helpers import draft, task


def types(problems: list[dict]) -> list[str]:
    return [p["type"] for p in problems]


def test_a_valid_draft_has_no_problems(catalogue: Catalogue) -> None:
    plan = draft(
        task("T-001", 0, mcp_tools=["godot", "godot.run_project", "filesystem.write_file"]),
        task("T-002", 1, ["T-001"]),
        task("T-003", 2, ["T-001", "T-002"]),
    )
    assert draft_problems(plan, catalogue, engine="godot") == []
    ensure_valid(plan, catalogue, engine="godot")


def test_empty_plan_is_refused(catalogue: Catalogue) -> None:
    assert types(draft_problems(draft(), catalogue)) == ["plan_empty"]


def test_codes_must_be_unique_and_well_formed(catalogue: Catalogue) -> None:
    bad = task("T-002", 1).model_copy(update={"code": "T-2"})
    problems = draft_problems(draft(task("T-001", 0), bad, task("T-001", 2)), catalogue)
    assert {"code_format", "code_duplicate"} <= set(types(problems))
    duplicate = next(p for p in problems if p["type"] == "code_duplicate")
    assert duplicate["loc"] == ["tasks", 2, "code"]


def test_dependencies_must_exist_and_not_point_to_self(catalogue: Catalogue) -> None:
    problems = draft_problems(
        draft(task("T-001", 0, ["T-001"]), task("T-002", 1, ["T-009", "T-001", "T-001"])), catalogue
    )
    assert types(problems) == ["dependency_self", "dependency_unknown", "dependency_duplicate"]
    assert problems[1]["loc"] == ["tasks", 1, "dependencies", 0]
    assert "T-009" in problems[1]["msg"]


def test_cycles_are_reported_with_their_codes(catalogue: Catalogue) -> None:
    plan = draft(
        task("T-001", 0, ["T-003"]),
        task("T-002", 1, ["T-001"]),
        task("T-003", 2, ["T-002"]),
        task("T-004", 3),
    )
    problems = draft_problems(plan, catalogue)
    cycles = [p for p in problems if p["type"] == "dependency_cycle"]
    assert len(cycles) == 1
    assert cycles[0]["msg"] == "dependency cycle: T-001 → T-003 → T-002 → T-001"
    assert "dependency_order" in types(problems)  # T-001 (idx 0) also depends on a later task


def test_a_cycle_with_exits_is_still_named(catalogue: Catalogue) -> None:
    plan = draft(
        task("T-001", 0),
        task("T-002", 1, ["T-003", "T-001"]),
        task("T-003", 2, ["T-001", "T-002"]),
    )
    cycle = next(p for p in draft_problems(plan, catalogue) if p["type"] == "dependency_cycle")
    assert cycle["msg"] == "dependency cycle: T-002 → T-003 → T-002"
    assert cycle["loc"] == ["tasks", 1, "dependencies"]


def test_overlapping_cycles_name_every_task_caught(catalogue: Catalogue) -> None:
    plan = draft(
        task("T-001", 0, ["T-002"]),
        task("T-002", 1, ["T-001", "T-003"]),
        task("T-003", 2, ["T-002"]),
    )
    cycle = next(p for p in draft_problems(plan, catalogue) if p["type"] == "dependency_cycle")
    assert "T-001, T-002, T-003" in cycle["msg"]


def test_idx_must_be_a_permutation_in_topological_order(catalogue: Catalogue) -> None:
    plan = draft(task("T-001", 1), task("T-002", 1), task("T-003", 7), task("T-004", 0, ["T-001"]))
    problems = draft_problems(plan, catalogue)
    assert types(problems) == ["idx_duplicate", "idx_range", "dependency_order"]
    assert problems[2]["loc"] == ["tasks", 3, "dependencies", 0]


def test_field_rules_are_checked_on_unvalidated_models(catalogue: Catalogue) -> None:
    broken = task("T-001", 0).model_copy(
        update={
            "title": " ",
            "discipline": "marketing",
            "estimates": Estimates.model_construct(story_points=0, time_hours=-2),
            "priority": 9,
            "acceptance_criteria": ["  "],
            "deliverables": [Deliverable.model_construct(name="", category="image", required=True)],
        }
    )
    problems = draft_problems(draft(broken), catalogue)
    locs = [tuple(p["loc"]) for p in problems]
    assert ("tasks", 0, "title") in locs
    assert ("tasks", 0, "discipline") in locs
    assert ("tasks", 0, "estimates", "story_points") in locs
    assert ("tasks", 0, "estimates", "time_hours") in locs
    assert ("tasks", 0, "priority") in locs
    assert ("tasks", 0, "acceptance_criteria") in locs
    assert ("tasks", 0, "deliverables", 0, "category") in locs
    assert ("tasks", 0, "deliverables", 0, "name") in locs


def test_tools_must_be_in_the_catalogue_and_fit_the_engine(catalogue: Catalogue) -> None:
    plan = draft(task("T-001", 0, mcp_tools=["godot.fly", "krita.paint", "unity.run_tests", "unity-mcp", "blender"]))
    problems = draft_problems(plan, catalogue, engine="godot")
    assert types(problems) == ["tool_unknown", "tool_unknown", "tool_wrong_engine", "tool_wrong_engine"]
    assert "no such tool" in problems[0]["msg"]
    assert "not in the catalogue" in problems[1]["msg"]
    assert problems[2]["loc"] == ["tasks", 0, "mcp_tools", 2]
    assert draft_problems(plan, catalogue, engine="unity")[2:] == []


def test_every_problem_is_listed_at_once(catalogue: Catalogue) -> None:
    plan = draft(
        task("T-001", 0, ["T-002"], mcp_tools=["unity.run_tests"]),
        task("T-002", 1, ["T-001"], priority=1).model_copy(update={"priority": 0}),
        task("T-002", 2, ["T-404"]),
    )
    with pytest.raises(InvalidInput) as caught:
        ensure_valid(plan, catalogue, engine="godot")
    found = set(types(caught.value.extensions["errors"]))
    assert {
        "code_duplicate",
        "dependency_unknown",
        "dependency_order",
        "tool_wrong_engine",
        "priority",
        "dependency_cycle",
    } <= found
    assert caught.value.detail == f"The plan draft breaks {len(caught.value.extensions['errors'])} rules."


def test_a_single_problem_reads_in_the_singular(catalogue: Catalogue) -> None:
    with pytest.raises(InvalidInput) as caught:
        ensure_valid(draft(task("T-001", 0, ["T-001"])), catalogue)
    assert caught.value.detail == "The plan draft breaks 1 rule."


def test_a_thousand_task_plan_validates(catalogue: Catalogue) -> None:
    tasks = [
        task(
            f"T-{i + 1:04d}",
            i,
            [f"T-{j + 1:04d}" for j in (i - 1, i - 7, i - 31) if j >= 0],
            mcp_tools=["git.git_commit", "godot.run_project"],
        )
        for i in range(1000)
    ]
    assert draft_problems(draft(*tasks), catalogue, engine="godot") == []
    # A cycle through the whole chain is still found (and not by recursion).
    looped = [tasks[0].model_copy(update={"dependencies": ["T-1000"]}), *tasks[1:]]
    problems = draft_problems(draft(*looped), catalogue)
    assert "dependency_cycle" in types(problems)


def test_plans_are_capped(catalogue: Catalogue) -> None:
    tasks = [task(f"T-{i + 1:04d}", i) for i in range(2001)]
    plan = PlanDraft.model_construct(summary="Too big", tasks=tasks, notes=[], template=None, scope="mvp", features=[])
    assert types(draft_problems(plan, catalogue)) == ["plan_too_large"]


def test_engine_of_reads_the_template() -> None:
    assert engine_of(draft(task("T-001", 0), template="rpg/unity")) == "unity"
    assert engine_of(draft(task("T-001", 0), template=None)) is None
