"""Free-text feedback in template mode: each point read by rules, applied as edits, and reported in the notes."""

import pytest

from gateway.app.errors import InvalidInput
from gateway.app.planner import EditTask, Feedback, GameBrief, PlanDraft, PlanningRequest, TaskChanges
from gateway.app.planner.feedback import read_point, split_points
from gateway.app.planner.template import TemplatePlanner

BRIEF = GameBrief(
    title="Hollow Lantern",
    genre="metroidvania",
    engine="godot",
    platforms=["pc"],
    features=["double jump", "three bosses", "map screen", "online co-op"],
)


@pytest.fixture
def base(planner: TemplatePlanner) -> PlanDraft:
    return planner.propose(PlanningRequest(brief=BRIEF))


def revise(planner: TemplatePlanner, plan: PlanDraft, text: str, *edits) -> PlanDraft:
    return planner.propose(PlanningRequest(brief=BRIEF, previous=plan, feedback=Feedback(text=text, edits=list(edits))))


def feedback_notes(plan: PlanDraft) -> list[str]:
    return [n for n in plan.notes if n.startswith("Revision: feedback")]


def by_code(plan: PlanDraft) -> dict:
    return {t.code: t for t in plan.tasks}


def test_points_are_split_on_punctuation_and_joined_requests() -> None:
    assert split_points("Drop multiplayer, add a level editor, make bosses a later milestone") == [
        "Drop multiplayer",
        "add a level editor",
        "make bosses a later milestone",
    ]
    assert split_points("Cut the pause menu and add photo mode.\nAlso: smaller") == [
        "Cut the pause menu",
        "add photo mode",
        "Also: smaller",
    ]


def test_the_issue_s_feedback_is_applied_point_by_point_keeping_codes(
    planner: TemplatePlanner, base: PlanDraft
) -> None:
    revised = revise(planner, base, "Drop multiplayer, add a level editor, make bosses a later milestone")
    before, after = by_code(base), by_code(revised)
    network = [c for c, t in before.items() if (t.template_key or "").startswith(("netcode", "multiplayer"))]
    assert network
    assert not set(network) & set(after), "multiplayer tasks are gone"
    editor = [t for t in revised.tasks if t.title.startswith("Level editor")]
    assert [t.discipline for t in editor] == ["design", "programming", "qa"]
    bosses = next(c for c, t in before.items() if t.template_key == "bosses")
    assert (before[bosses].milestone, after[bosses].milestone) == ("vertical-slice", "alpha")
    kept = set(before) & set(after)
    assert all(before[c].title == after[c].title for c in kept), "kept tasks keep their codes"
    notes = feedback_notes(revised)
    assert len(notes) == 3
    assert "removed the Online multiplayer module" in notes[0]
    assert "added 'level editor'" in notes[1]
    assert editor[0].code in notes[1]
    assert f"{bosses} → alpha" in notes[2]
    assert not any("does not interpret free text" in n for n in revised.notes)


def test_points_not_understood_are_listed_next_to_those_applied(planner: TemplatePlanner, base: PlanDraft) -> None:
    revised = revise(planner, base, "Make it pop; postpone the map screen; drop the jetpack")
    notes = feedback_notes(revised)
    assert "'Make it pop' was not applied: not understood" in notes[0]
    assert "moved" in notes[1]
    assert "'drop the jetpack' was not applied: no task of the plan is about 'jetpack'" in notes[2]


def test_feedback_with_nothing_applicable_is_refused_with_every_point(
    planner: TemplatePlanner, base: PlanDraft
) -> None:
    with pytest.raises(InvalidInput) as refused:
        revise(planner, base, "Make it pop. Remove the jetpack")
    errors = refused.value.extensions["errors"]
    assert [e["loc"] for e in errors] == [["text", 0], ["text", 1]]
    assert {e["type"] for e in errors} == {"feedback_not_applied"}
    assert "no new version" in refused.value.detail


def test_empty_feedback_is_refused(planner: TemplatePlanner, base: PlanDraft) -> None:
    with pytest.raises(InvalidInput) as refused:
        planner.propose(PlanningRequest(brief=BRIEF, previous=base, feedback=Feedback()))
    assert refused.value.extensions["errors"][0]["type"] == "feedback_empty"


def test_structured_edits_apply_even_when_the_text_is_not_understood(planner: TemplatePlanner, base: PlanDraft) -> None:
    revised = revise(planner, base, "More juice", EditTask(op="edit", code="T-001", changes=TaskChanges(priority=1)))
    assert by_code(revised)["T-001"].priority == 1
    assert "not understood" in feedback_notes(revised)[0]


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("make it smaller", lambda before, after: after.scope == "prototype"),
        ("just a prototype", lambda before, after: after.scope == "prototype"),
        ("we want the full game", lambda before, after: after.scope == "full"),
        ("rename alpha to Feature complete", lambda before, after: after.milestones[2].title == "Feature complete"),
        (
            "move the map screen to beta",
            lambda before, after: next(t for t in after.tasks if t.template_key == "map-screen").milestone == "beta",
        ),
        (
            "prioritise the bosses",
            lambda before, after: next(t for t in after.tasks if t.template_key == "bosses").priority == 5,
        ),
        (
            "the map screen can wait",
            lambda before, after: next(t for t in after.tasks if t.template_key == "map-screen").priority == 1,
        ),
        (
            "remove the pause menu",
            lambda before, after: "pause-menu" not in {t.template_key for t in after.tasks},
        ),
        (
            "bosses in the first milestone",
            lambda before, after: next(t for t in after.tasks if t.template_key == "bosses").milestone == "prototype",
        ),
    ],
)
def test_common_requests(planner: TemplatePlanner, base: PlanDraft, text: str, check) -> None:
    revised = revise(planner, base, text)
    assert check(base, revised), feedback_notes(revised)
    assert "was not applied" not in feedback_notes(revised)[0]


def test_a_point_whose_edits_break_a_rule_says_why(planner: TemplatePlanner, base: PlanDraft) -> None:
    plain = base.model_copy(
        update={"milestones": [], "tasks": [t.model_copy(update={"milestone": None}) for t in base.tasks]}
    )
    point = read_point("make bosses a later milestone", plain, BRIEF)
    assert point.problem == "the plan has no milestones"
    assert read_point("rename gold to Gold", base, BRIEF).problem == "'gold' is not a milestone of the plan"
    assert "already at the mvp scope" in read_point("mvp please", base, BRIEF).problem


def test_a_point_that_changes_nothing_is_reported_not_applied(planner: TemplatePlanner, base: PlanDraft) -> None:
    revised = revise(planner, base, "add bosses, drop the pause menu")
    notes = feedback_notes(revised)
    assert "'add bosses' was not applied: it would change nothing in the plan" in notes[0]
    assert "removed the tasks about 'pause menu'" in notes[1]
    with pytest.raises(InvalidInput):
        revise(planner, base, "add bosses")


def test_dropping_a_feature_of_the_brief_removes_the_choice_too(planner: TemplatePlanner) -> None:
    brief = GameBrief.model_validate(BRIEF.model_dump() | {"features": ["photo mode"]})
    plan = planner.propose(PlanningRequest(brief=brief))
    revised = planner.propose(PlanningRequest(brief=brief, previous=plan, feedback=Feedback(text="drop photo mode")))
    assert not [t for t in revised.tasks if t.title.startswith("Photo mode")]
    assert "no-photo-mode" in revised.features, "a later rebuild does not bring it back"
    assert "removed the feature 'photo mode'" in feedback_notes(revised)[0]


def test_a_later_milestone_moves_each_named_task_one_milestone_on(planner: TemplatePlanner, base: PlanDraft) -> None:
    revised = revise(planner, base, "make the map screen a later milestone")
    before = next(t for t in base.tasks if t.template_key == "map-screen")
    after = next(t for t in revised.tasks if t.template_key == "map-screen")
    assert (before.milestone, after.milestone) == ("vertical-slice", "alpha")


def test_a_milestone_can_be_added_by_name(planner: TemplatePlanner, base: PlanDraft) -> None:
    revised = revise(planner, base, "add a Steam demo milestone after the vertical slice; add a post-launch milestone")
    assert [m.key for m in revised.milestones] == [
        "prototype",
        "vertical-slice",
        "steam-demo",
        "alpha",
        "beta",
        "release",
        "post-launch",
    ]
    assert revised.milestones[2].title == "Steam demo"
    notes = feedback_notes(revised)
    assert "added the milestone 'Steam demo' after vertical-slice" in notes[0]
    assert read_point("add a beta milestone", base, BRIEF).problem == "the plan already has a milestone 'beta'"
    assert (
        read_point("add a demo milestone before gold", base, BRIEF).problem == "'gold' is not a milestone of the plan"
    )
