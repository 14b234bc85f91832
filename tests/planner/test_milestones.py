"""Milestones: what the templates assign, the rules every draft obeys, and the edits that move and rename them."""

from typing import Any

import pytest

from gateway.app.errors import InvalidInput
from gateway.app.planner import (
    AddMilestone,
    AddTask,
    ChangeScope,
    EditMilestone,
    EditTask,
    Estimates,
    Feedback,
    GameBrief,
    Milestone,
    MoveTask,
    NewTask,
    PlanDraft,
    PlanningRequest,
    RemoveMilestone,
    TaskChanges,
)
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.template import TemplatePlanner
from gateway.app.planner.validation import draft_problems
from tests.planner.helpers import by_key, task

FIVE = ["prototype", "vertical-slice", "alpha", "beta", "release"]


def apply(planner: TemplatePlanner, brief: GameBrief, previous: PlanDraft, *edits: Any) -> PlanDraft:
    return planner.propose(PlanningRequest(brief=brief, previous=previous, feedback=Feedback(edits=list(edits))))


def refused(planner: TemplatePlanner, brief: GameBrief, previous: PlanDraft, *edits: Any) -> list[dict]:
    with pytest.raises(InvalidInput) as caught:
        apply(planner, brief, previous, *edits)
    return caught.value.extensions["errors"]


def milestone_of(plan: PlanDraft) -> dict[str, str | None]:
    return {t.code: t.milestone for t in plan.tasks}


def assert_milestone_rules(plan: PlanDraft) -> None:
    rank = {m.key: i for i, m in enumerate(plan.milestones)}
    by_code = {t.code: t for t in plan.tasks}
    for t in plan.tasks:
        assert t.milestone in rank, t.code
        for dep in t.dependencies:
            assert rank[by_code[dep].milestone] <= rank[t.milestone], (t.code, dep)
    ranks = [rank[t.milestone] for t in sorted(plan.tasks, key=lambda t: t.idx)]
    assert ranks == sorted(ranks), "tasks come milestone by milestone"


@pytest.fixture
def mvp_brief() -> GameBrief:
    return GameBrief(title="Star Courier", genre="platformer-2d", engine="godot", scope="mvp", features=["multiplayer"])


@pytest.fixture
def mvp(planner: TemplatePlanner, mvp_brief: GameBrief) -> PlanDraft:
    return planner.propose(PlanningRequest(brief=mvp_brief))


# --- The templates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [("prototype", ["prototype", "playtest"]), ("mvp", FIVE), ("full", FIVE)],
)
def test_template_plans_are_grouped_into_milestones_scaled_by_scope(
    planner: TemplatePlanner, scope: str, expected: list[str]
) -> None:
    plan = planner.propose(PlanningRequest(brief=GameBrief(title="Orbit", genre="puzzle", scope=scope)))
    assert [m.key for m in plan.milestones] == expected
    assert all(m.title and m.goal for m in plan.milestones)
    assert_milestone_rules(plan)
    assert {t.milestone for t in plan.tasks} == set(expected), "no empty milestone"


def test_milestones_follow_what_each_task_is_for(mvp: PlanDraft) -> None:
    tasks = by_key(mvp)
    assert tasks["player-controller"].milestone == "prototype"
    assert tasks["netcode-design"].milestone == "prototype", "a feature's foundations come early"
    assert tasks["multiplayer-sessions"].milestone == "vertical-slice"
    assert tasks["vertical-slice-review"].milestone == "vertical-slice"
    assert tasks["bug-bash"].milestone == "beta"
    assert tasks["release-builds"].milestone == "release"
    assert "Star Courier" in mvp.milestones[0].goal


def test_every_template_has_valid_milestones_for_every_engine_and_scope(planner: TemplatePlanner) -> None:
    from gateway.app.planner.library import load_library

    library = load_library()
    for genre in library.genres:
        for engine in library.engines:
            for scope in ("prototype", "mvp", "full"):
                brief = GameBrief(genre=genre, engine=engine, scope=scope)
                plan = planner.propose(PlanningRequest(brief=brief))
                assert_milestone_rules(plan)


# --- The rules -----------------------------------------------------------------------------------------------


def _draft(*tasks: Any, milestones: list[str] | None = None) -> PlanDraft:
    return PlanDraft(
        summary="A plan.",
        milestones=[Milestone(key=k, title=k.title()) for k in (milestones or [])],
        tasks=list(tasks),
        template="platformer-2d/godot",
    )


def test_a_draft_without_milestones_is_still_valid(catalogue: Catalogue) -> None:
    assert draft_problems(_draft(task("T-001", 0), task("T-002", 1, ["T-001"])), catalogue) == []


def test_milestone_rules_are_all_reported_at_once(catalogue: Catalogue) -> None:
    plan = _draft(
        task("T-001", 0, milestone="beta"),
        task("T-002", 1, ["T-001"], milestone="alpha"),
        task("T-003", 2, milestone=None),
        task("T-004", 3, milestone="gold"),
        milestones=["alpha", "beta"],
    )
    plan.milestones.append(Milestone(key="alpha", title="Again"))
    problems = {(p["type"], tuple(p["loc"])) for p in draft_problems(plan, catalogue)}
    assert problems == {
        ("milestone_order", ("tasks", 1, "dependencies", 0)),
        ("milestone_missing", ("tasks", 2, "milestone")),
        ("milestone_unknown", ("tasks", 3, "milestone")),
        ("milestone_duplicate", ("milestones", 2, "key")),
    }
    messages = " ".join(p["msg"] for p in draft_problems(plan, catalogue))
    assert "T-002 (alpha) depends on T-001, which belongs to a later milestone (beta)" in messages


def test_a_task_naming_a_milestone_in_a_plan_without_any_is_refused(catalogue: Catalogue) -> None:
    problems = draft_problems(_draft(task("T-001", 0, milestone="alpha")), catalogue)
    assert [p["type"] for p in problems] == ["milestone_unknown"]
    assert "milestones: none" in problems[0]["msg"]


def test_malformed_milestones_are_problems_even_when_built_without_validation(catalogue: Catalogue) -> None:
    bad = Milestone.model_construct(key="Not A Key", title=" ", goal=None)
    plan = _draft(task("T-001", 0, milestone="alpha"), milestones=["alpha"])
    plan.milestones.append(bad)
    types = [p["type"] for p in draft_problems(plan, catalogue)]
    assert types == ["milestone_key", "milestone_title"]


def test_milestone_keys_are_slugs() -> None:
    with pytest.raises(ValueError, match="pattern"):
        Milestone(key="Vertical Slice", title="Vertical slice")


# --- Edits -----------------------------------------------------------------------------------------------


def test_moving_a_task_to_a_later_milestone_takes_its_dependents_along(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    sessions = by_key(mvp)["multiplayer-sessions"]
    sync = by_key(mvp)["multiplayer-sync"]
    assert sessions.code in sync.dependencies
    assert sync.milestone == "vertical-slice"
    revised = apply(planner, mvp_brief, mvp, EditTask(op="edit", code=sessions.code, changes={"milestone": "alpha"}))
    after = milestone_of(revised)
    assert after[sessions.code] == "alpha"
    assert after[sync.code] == "alpha", "a dependent follows instead of waiting on a later milestone"
    assert_milestone_rules(revised)
    assert any(f"{sync.code} → alpha" in note for note in revised.notes)
    assert sorted(t.code for t in revised.tasks) == sorted(t.code for t in mvp.tasks), "codes are kept"


def test_moving_a_task_to_an_earlier_milestone_pulls_its_dependencies_forward(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    review = by_key(mvp)["vertical-slice-review"]
    revised = apply(planner, mvp_brief, mvp, EditTask(op="edit", code=review.code, changes={"milestone": "prototype"}))
    after = milestone_of(revised)
    assert after[review.code] == "prototype"
    for dep in review.dependencies:
        assert after[dep] == "prototype"
    assert_milestone_rules(revised)


def test_an_added_task_joins_the_milestone_of_the_task_before_it(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    anchor = by_key(mvp)["bug-bash"]
    new = NewTask(
        title="Wall jump",
        description="Slide down walls and jump off them.",
        discipline="programming",
        acceptance_criteria=["It works"],
        estimates=Estimates(story_points=3, time_hours=6),
        priority=3,
    )
    revised = apply(planner, mvp_brief, mvp, AddTask(op="add", task=new, after=anchor.code))
    added = next(t for t in revised.tasks if t.title == "Wall jump")
    assert added.milestone == "beta"
    chosen = apply(
        planner,
        mvp_brief,
        mvp,
        AddTask(op="add", task=new.model_copy(update={"milestone": "prototype"}), after=anchor.code),
    )
    assert next(t for t in chosen.tasks if t.title == "Wall jump").milestone == "prototype"


def test_milestones_can_be_renamed_added_and_removed(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    in_alpha = [t.code for t in mvp.tasks if t.milestone == "alpha"]
    in_beta = [t.code for t in mvp.tasks if t.milestone == "beta"]
    revised = apply(
        planner,
        mvp_brief,
        mvp,
        EditMilestone(op="edit_milestone", key="alpha", new_key="feature-complete", title="Feature complete"),
        AddMilestone(
            op="add_milestone",
            milestone=Milestone(key="post-launch", title="Post-launch", goal="First update"),
            after="release",
        ),
        AddMilestone(op="add_milestone", milestone=Milestone(key="pitch", title="Pitch"), before="prototype"),
        RemoveMilestone(op="remove_milestone", key="beta"),
        EditMilestone(op="edit_milestone", key="post-launch", goal=None),
    )
    assert [m.key for m in revised.milestones] == [
        "pitch",
        "prototype",
        "vertical-slice",
        "feature-complete",
        "release",
        "post-launch",
    ]
    assert revised.milestones[3].title == "Feature complete"
    assert revised.milestones[-1].goal is None
    after = milestone_of(revised)
    assert {after[c] for c in in_alpha} == {"feature-complete"}
    assert {after[c] for c in in_beta} == {"release"}, "a removed milestone's tasks go to the next one"
    assert_milestone_rules(revised)
    assert any("edited milestone alpha" in n and "removed milestone beta" in n for n in revised.notes)


def test_removing_the_last_milestone_moves_its_tasks_back_and_into_names_the_target(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    in_release = [t.code for t in mvp.tasks if t.milestone == "release"]
    revised = apply(planner, mvp_brief, mvp, RemoveMilestone(op="remove_milestone", key="release"))
    assert {milestone_of(revised)[c] for c in in_release} == {"beta"}
    into = apply(planner, mvp_brief, mvp, RemoveMilestone(op="remove_milestone", key="beta", into="release"))
    assert "beta" not in [m.key for m in into.milestones]
    assert_milestone_rules(into)


def test_bad_milestone_edits_are_refused_together(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    problems = refused(
        planner,
        mvp_brief,
        mvp,
        EditTask(op="edit", code="T-001", changes=TaskChanges(milestone="gold")),
        AddMilestone(op="add_milestone", milestone=Milestone(key="alpha", title="Alpha"), after="x", before="beta"),
        EditMilestone(op="edit_milestone", key="alpha", new_key="beta"),
        RemoveMilestone(op="remove_milestone", key="beta", into="beta"),
        RemoveMilestone(op="remove_milestone", key="nope"),
    )
    assert [(p["loc"][:2], p["type"]) for p in problems] == [
        (["edits", 0], "milestone_unknown"),
        (["edits", 1], "milestone_duplicate"),
        (["edits", 1], "milestone_position"),
        (["edits", 1], "milestone_unknown"),
        (["edits", 2], "milestone_duplicate"),
        (["edits", 3], "milestone_into"),
        (["edits", 4], "milestone_unknown"),
    ]


def test_a_move_stays_inside_the_task_s_milestone(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    late = by_key(mvp)["credits"] if "credits" in by_key(mvp) else mvp.tasks[-1]
    revised = apply(planner, mvp_brief, mvp, MoveTask(op="move", code=late.code, after=None))
    assert milestone_of(revised)[late.code] == late.milestone
    assert_milestone_rules(revised)
    assert any("inside its milestone" in note for note in revised.notes)


def test_a_plan_without_milestones_gets_them_from_an_added_milestone(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    bare = mvp.model_copy(
        update={"milestones": [], "tasks": [t.model_copy(update={"milestone": None}) for t in mvp.tasks]}
    )
    kept = apply(planner, mvp_brief, bare, EditTask(op="edit", code="T-001", changes={"priority": 1}))
    assert kept.milestones == []
    assert {t.milestone for t in kept.tasks} == {None}
    revised = apply(
        planner, mvp_brief, bare, AddMilestone(op="add_milestone", milestone=Milestone(key="v1", title="Version 1"))
    )
    assert {t.milestone for t in revised.tasks} == {"v1"}


def test_a_scope_change_keeps_renamed_and_added_milestones(
    planner: TemplatePlanner, mvp_brief: GameBrief, mvp: PlanDraft
) -> None:
    edited = apply(
        planner,
        mvp_brief,
        mvp,
        EditMilestone(op="edit_milestone", key="alpha", title="Feature complete"),
        AddMilestone(op="add_milestone", milestone=Milestone(key="demo", title="Steam demo"), after="vertical-slice"),
    )
    full = apply(planner, mvp_brief, edited, ChangeScope(op="scope", scope="full"))
    keys = [m.key for m in full.milestones]
    assert keys == ["prototype", "vertical-slice", "demo", "alpha", "beta", "release"]
    assert full.milestones[3].title == "Feature complete"
    assert "MVP scope" in full.milestones[3].goal, "a milestone the user edited stays as the user left it"
    untouched = apply(planner, mvp_brief, mvp, ChangeScope(op="scope", scope="full"))
    assert "full release scope" in untouched.milestones[2].goal, "template goals follow the new scope"
    assert_milestone_rules(full)
    prototype = apply(planner, mvp_brief, mvp, ChangeScope(op="scope", scope="prototype"))
    assert [m.key for m in prototype.milestones] == ["prototype", "playtest"]
    assert_milestone_rules(prototype)
