"""Structured feedback: every edit op, stable codes, kept user edits, and every bad edit reported at once."""

from typing import Any

import pytest

from gateway.app.errors import InvalidInput
from gateway.app.planner import (
    AddTask,
    ChangeScope,
    EditTask,
    Estimates,
    Feedback,
    GameBrief,
    MergeTasks,
    MoveTask,
    NewTask,
    PlanDraft,
    PlanningRequest,
    RemoveTask,
    SplitTask,
    TaskChanges,
)
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.edits import revise
from gateway.app.planner.template import TemplatePlanner
from gateway.app.planner.validation import draft_problems
from tests.planner.helpers import by_key, draft, task


def new_task(title: str = "Wall jump", **fields: Any) -> NewTask:
    values: dict[str, Any] = {
        "title": title,
        "description": "Let the player slide down walls and jump off them.",
        "discipline": "programming",
        "acceptance_criteria": ["A wall jump pushes away from the wall"],
        "estimates": Estimates(story_points=3, time_hours=6),
        "priority": 3,
    }
    values.update(fields)
    return NewTask(**values)


def apply(
    planner: TemplatePlanner, brief: GameBrief, previous: PlanDraft, *edits: Any, text: str | None = None
) -> PlanDraft:
    return planner.propose(
        PlanningRequest(brief=brief, previous=previous, feedback=Feedback(text=text, edits=list(edits)))
    )


def refused(planner: TemplatePlanner, brief: GameBrief, previous: PlanDraft, *edits: Any) -> list[dict]:
    with pytest.raises(InvalidInput) as caught:
        apply(planner, brief, previous, *edits)
    return caught.value.extensions["errors"]


def codes(plan: PlanDraft) -> list[str]:
    return [t.code for t in plan.tasks]


def get(plan: PlanDraft, code: str):
    return next(t for t in plan.tasks if t.code == code)


def test_no_feedback_is_refused_rather_than_copied(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    with pytest.raises(InvalidInput) as refused:
        planner.propose(PlanningRequest(brief=brief, previous=plan))
    assert refused.value.extensions["errors"][0]["type"] == "feedback_empty"


def test_free_text_is_read_point_by_point(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    revised = apply(planner, brief, plan, text="Please make the art darker and cut the camera task.")
    camera = by_key(plan)["camera"].code
    assert codes(revised) == [c for c in codes(plan) if c != camera]
    notes = [n for n in revised.notes if n.startswith("Revision: feedback")]
    assert "'Please make the art darker' was not applied: not understood" in notes[0]
    assert f"'cut the camera task': removed the tasks about 'camera task' (removed {camera})" in notes[1]


def test_add_places_the_task_and_gives_the_next_code(
    planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft
) -> None:
    controller = by_key(plan)["player-controller"]
    revised = apply(
        planner,
        brief,
        plan,
        AddTask(
            op="add",
            task=new_task(dependencies=[controller.code], mcp_tools=["godot.run_project"]),
            after=controller.code,
        ),
        AddTask(op="add", task=new_task("Credits roll", discipline="ui")),
        AddTask(op="add", task=new_task("Kick-off", discipline="design", idx=0)),
        AddTask(op="add", task=new_task("Custom code", code="T-050")),
        AddTask(op="add", task=new_task("After custom")),
    )
    assert revised.highest_code == 51
    wall = get(revised, "T-014")
    assert wall.title == "Wall jump"
    assert wall.template_key is None
    assert codes(revised).index("T-014") == codes(revised).index(controller.code) + 1
    assert codes(revised)[-1] == "T-051"
    assert codes(revised)[-3] == "T-015"
    assert codes(revised)[0] == "T-016"
    assert (
        "Revision: applied 5 structured edits: added T-014; added T-015; added T-016; added T-050; added T-051."
        in revised.notes
    )


def test_add_refusals(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    errors = refused(
        planner,
        brief,
        plan,
        AddTask(op="add", task=new_task(code="T-001")),
        AddTask(
            op="add", task=new_task(dependencies=["T-404"], mcp_tools=["unity.run_tests", "krita.paint"]), after="T-999"
        ),
    )
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["edits", 0, "task", "code"], "code_duplicate"),
        (["edits", 1, "after"], "task_unknown"),
        (["edits", 1, "task", "dependencies", 0], "dependency_unknown"),
        (["edits", 1, "task", "mcp_tools", 0], "tool_wrong_engine"),
        (["edits", 1, "task", "mcp_tools", 1], "tool_unknown"),
    ]


def test_remove_rewires_dependents(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    keys = by_key(plan)
    camera, build = keys["camera"], keys["playtest-build"]
    assert camera.code in build.dependencies
    revised = apply(planner, brief, plan, RemoveTask(op="remove", code=camera.code))
    assert camera.code not in codes(revised)
    rebuilt = get(revised, build.code)
    assert camera.code not in rebuilt.dependencies
    assert set(camera.dependencies) <= set(rebuilt.dependencies)
    again = apply(planner, brief, revised, AddTask(op="add", task=new_task()))
    assert "T-014" in codes(again)  # a removed code is never reused: 13 tasks, camera was T-0xx, new one is T-014
    assert refused(planner, brief, plan, RemoveTask(op="remove", code="T-404"))[0]["loc"] == ["edits", 0, "code"]


def test_edit_changes_fields(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    keys = by_key(plan)
    art = keys["player-art"]
    revised = apply(
        planner,
        brief,
        plan,
        EditTask(
            op="edit",
            code=art.code,
            changes=TaskChanges(priority=2, estimates=Estimates(story_points=8, time_hours=20), mcp_tools=["blender"]),
        ),
    )
    edited = get(revised, art.code)
    assert (edited.priority, edited.estimates.story_points, edited.mcp_tools) == (2, 8, ["blender"])
    assert edited.title == art.title
    assert f"edited {art.code} (estimates, priority, mcp_tools)" in revised.notes[-1]


def test_edit_refusals(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    first = plan.tasks[0].code
    errors = refused(
        planner,
        brief,
        plan,
        EditTask(op="edit", code="T-404", changes=TaskChanges(priority=1)),
        EditTask(op="edit", code=first, changes=TaskChanges(dependencies=[first, "T-405"])),
    )
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["edits", 0, "code"], "task_unknown"),
        (["edits", 1, "changes", "dependencies", 0], "dependency_self"),
        (["edits", 1, "changes", "dependencies", 1], "dependency_unknown"),
    ]


def test_an_edit_that_creates_a_cycle_is_refused_by_the_rules(
    planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft
) -> None:
    keys = by_key(plan)
    design, metrics = keys["game-design-doc"], keys["level-metrics"]
    with pytest.raises(InvalidInput) as caught:
        apply(
            planner,
            brief,
            plan,
            EditTask(op="edit", code=design.code, changes=TaskChanges(dependencies=[metrics.code])),
        )
    cycle = next(e for e in caught.value.extensions["errors"] if e["type"] == "dependency_cycle")
    assert design.code in cycle["msg"]
    assert metrics.code in cycle["msg"]


def test_move_reorders_within_the_dependencies(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    keys = by_key(plan)
    sfx, setup, art = keys["core-sfx"], keys["project-setup"], keys["player-art"]
    revised = apply(
        planner,
        brief,
        plan,
        MoveTask(op="move", code=setup.code, after=None),
        MoveTask(op="move", code=art.code, after=setup.code),
        MoveTask(op="move", code=sfx.code, after=None),
    )
    order = codes(revised)
    assert order[0] == setup.code
    assert order.index(sfx.code) > order.index(keys["player-controller"].code)  # it depends on the controller
    assert any(f"{sfx.code} was placed after its dependencies" in note for note in revised.notes)
    assert draft_problems(revised, planner.catalogue, engine="godot") == []
    errors = refused(planner, brief, plan, MoveTask(op="move", code=setup.code, after=setup.code))
    assert errors[0]["type"] == "move_self"
    errors = refused(planner, brief, plan, MoveTask(op="move", code="T-404", after="T-405"))
    assert [e["loc"] for e in errors] == [["edits", 0, "code"], ["edits", 0, "after"]]


def test_a_moved_task_can_be_removed_later(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    art = by_key(plan)["player-art"].code
    revised = apply(planner, brief, plan, MoveTask(op="move", code=art), RemoveTask(op="remove", code=art))
    assert art not in codes(revised)
    assert not any("was placed after its dependencies" in note for note in revised.notes)


def test_split_chains_the_parts(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    keys = by_key(plan)
    controller = keys["player-controller"]
    dependents = [t.code for t in plan.tasks if controller.code in t.dependencies]
    revised = apply(
        planner,
        brief,
        plan,
        SplitTask(
            op="split",
            code=controller.code,
            into=[new_task("Run and jump"), new_task("Coyote time and buffer"), new_task("Air control", code="T-077")],
        ),
    )
    first, second, third = get(revised, controller.code), get(revised, "T-014"), get(revised, "T-077")
    assert first.title == "Run and jump"
    assert first.template_key == "player-controller"
    assert set(controller.dependencies) <= set(first.dependencies)
    assert second.dependencies == [controller.code]
    assert third.dependencies == ["T-014"]
    assert second.template_key is None
    for code in dependents:  # each waits for exactly one part (which one: see the test below)
        deps = get(revised, code).dependencies
        assert len({controller.code, "T-014", "T-077"} & set(deps)) == 1
    order = codes(revised)
    assert order.index(controller.code) < order.index("T-014") < order.index("T-077")
    assert revised.highest_code == 77
    assert f"split {controller.code} into {controller.code}, T-014, T-077" in revised.notes[-1]


def test_split_rewires_each_dependent_to_the_part_it_needs(
    planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft
) -> None:
    keys = by_key(plan)
    controller = keys["player-controller"].code
    revised = apply(
        planner,
        brief,
        plan,
        SplitTask(
            op="split",
            code=controller,
            into=[
                new_task("Run and jump", description="The player runs and jumps on the ground."),
                new_task(
                    "Double jump and wall slide",
                    description="A second jump in the air, and sliding down walls.",
                    acceptance_criteria=["A wall slide is slower than a fall"],
                ),
                new_task(
                    "Hazard response",
                    description="Knock-back, hurt flash and respawn when the player touches spikes or an enemy.",
                    acceptance_criteria=["Touching spikes knocks the player back"],
                ),
            ],
        ),
    )
    second, third = codes(revised)[codes(revised).index(controller) + 1 : codes(revised).index(controller) + 3]
    waits_for = {key: get(revised, keys[key].code).dependencies for key in ("camera", "hud", "core-sfx")}
    # camera, HUD and sound effects need the basic movement, not the double jump at the end of the chain
    for key, deps in waits_for.items():
        assert controller in deps, key
        assert second not in deps, key
        assert third not in deps, key
    # the hazards task talks about spikes, enemies and respawning: the part that provides that
    hazards = get(revised, keys["hazards-enemies"].code).dependencies
    assert third in hazards
    assert controller not in hazards


def test_a_revision_drops_the_cap_note_once_the_plan_is_under_the_cap(planner: TemplatePlanner) -> None:
    big = GameBrief(
        title="Everything",
        genre="platformer-2d",
        engine="godot",
        features=["multiplayer", "save-system", "localisation", "leaderboards", "achievements", "accessibility"],
    )
    plan = planner.propose(PlanningRequest(brief=big))
    assert len(plan.tasks) == 40
    assert any(note.startswith("The plan is capped at 40 tasks") for note in plan.notes)
    leaves = [t.code for t in plan.tasks if not any(t.code in o.dependencies for o in plan.tasks)]
    still_full = apply(planner, big, plan, EditTask(op="edit", code=leaves[0], changes=TaskChanges(priority=5)))
    assert any(note.startswith("The plan is capped at 40 tasks") for note in still_full.notes)
    smaller = apply(planner, big, plan, *(RemoveTask(op="remove", code=code) for code in leaves[:3]))
    assert len(smaller.tasks) == 37
    assert not any("capped" in note for note in smaller.notes), smaller.notes


def test_split_refusals(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    controller = by_key(plan)["player-controller"].code
    errors = refused(
        planner,
        brief,
        plan,
        SplitTask(op="split", code="T-404", into=[new_task(), new_task()]),
        SplitTask(
            op="split",
            code=controller,
            into=[new_task(code="T-090", dependencies=[controller]), new_task(code="T-001"), new_task(code="T-091")],
        ),
        SplitTask(op="split", code=controller, into=[new_task(), new_task(code="T-091"), new_task(code="T-091")]),
    )
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["edits", 0, "code"], "task_unknown"),
        (["edits", 1, "into", 0, "code"], "split_code"),
        (["edits", 1, "into", 0, "dependencies", 0], "dependency_self"),
        (["edits", 1, "into", 1, "code"], "code_duplicate"),
        (["edits", 2, "into", 2, "code"], "code_duplicate"),
    ]


def test_merge_combines_and_rewires(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    keys = by_key(plan)
    hazards, camera = keys["hazards-enemies"], keys["camera"]
    revised = apply(
        planner,
        brief,
        plan,
        MergeTasks(
            op="merge", codes=[hazards.code, camera.code], into=TaskChanges(title="Hazards, enemies and camera")
        ),
    )
    merged = get(revised, hazards.code)
    assert camera.code not in codes(revised)
    assert merged.title == "Hazards, enemies and camera"
    assert merged.estimates.story_points == hazards.estimates.story_points + camera.estimates.story_points
    assert merged.estimates.time_hours == hazards.estimates.time_hours + camera.estimates.time_hours
    assert merged.priority == max(hazards.priority, camera.priority)
    assert set(hazards.acceptance_criteria + camera.acceptance_criteria) == set(merged.acceptance_criteria)
    assert {d.name for d in hazards.deliverables + camera.deliverables} == {d.name for d in merged.deliverables}
    assert set(hazards.mcp_tools) | set(camera.mcp_tools) == set(merged.mcp_tools)
    assert f"Merged from {camera.code}" in merged.description
    build = get(revised, keys["playtest-build"].code)
    assert camera.code not in build.dependencies
    assert hazards.code in build.dependencies
    assert merged.code not in merged.dependencies
    errors = refused(planner, brief, plan, MergeTasks(op="merge", codes=[hazards.code, hazards.code, "T-404"]))
    assert [e["type"] for e in errors] == ["merge_duplicate", "task_unknown"]


def test_scope_change_keeps_codes_and_user_edits(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    keys = by_key(plan)
    edited = apply(
        planner,
        brief,
        plan,
        EditTask(
            op="edit", code=keys["player-controller"].code, changes=TaskChanges(title="Controller with wall jump")
        ),
        RemoveTask(op="remove", code=keys["camera"].code),
        AddTask(op="add", task=new_task("Dash", dependencies=[keys["player-controller"].code])),
    )
    grown = apply(planner, brief, edited, ChangeScope(op="scope", scope="mvp", add_features=["localization"]))
    after = by_key(grown)
    assert grown.scope == "mvp"
    assert grown.features == ["localisation"]
    for key, before in keys.items():
        if key != "camera":
            assert after[key].code == before.code, key  # same task, same code
    assert "camera" not in after  # the user removed it; a scope change does not bring it back
    assert after["player-controller"].title == "Controller with wall jump"  # the user's edit survives
    assert after["hud"].title == keys["hud"].title
    assert "Dash" in [t.title for t in grown.tasks]
    assert {"world-1-levels", "localisation-pipeline", "release-candidate"} <= set(after)
    fresh = [t for t in grown.tasks if t.template_key and t.template_key not in keys]
    assert all(int(t.code[2:]) > 14 for t in fresh)  # new tasks numbered above every code used so far
    assert draft_problems(grown, planner.catalogue, engine="godot") == []
    assert "MVP plan for Star Courier" in grown.summary
    assert "localisation" in grown.summary
    assert "rebuilt from the template (scope prototype → mvp, +localisation)" in grown.notes[-1]


def test_scope_change_refreshes_untouched_dependencies(
    planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft
) -> None:
    grown = apply(planner, brief, plan, ChangeScope(op="scope", scope="mvp"))
    after = by_key(grown)
    # In the MVP template the HUD task also waits for nothing new, but the bug bash exists and waits for menus.
    bug_bash = after["bug-bash"]
    assert after["main-menu"].code in bug_bash.dependencies
    # Dependencies the user never touched follow the template when the scope changes.
    fresh_build = PlanningRequest(brief=brief.model_copy(update={"scope": "mvp"}))
    reference = by_key(planner.propose(fresh_build))
    for key in ("playtest-build", "hud", "core-sfx"):
        assert {reference[k].template_key for k in reference if reference[k].code in reference[key].dependencies} == {
            after[k].template_key for k in after if after[k].code in after[key].dependencies
        }, key


def test_scope_can_shrink_and_remove_features(planner: TemplatePlanner) -> None:
    brief = GameBrief(genre="rpg", engine="unity", scope="mvp")
    plan = planner.propose(PlanningRequest(brief=brief))
    keys = by_key(plan)
    assert "save-system" in keys
    shrunk = apply(planner, brief, plan, ChangeScope(op="scope", scope="prototype", remove_features=["saves"]))
    after = by_key(shrunk)
    assert "save-system" not in after
    assert "region-content" not in after
    assert shrunk.features == ["no-save-system"]
    for key, task_ in after.items():
        assert task_.code == keys[key].code
    assert draft_problems(shrunk, planner.catalogue, engine="unity") == []
    back = apply(planner, brief, shrunk, ChangeScope(op="scope", add_features=["save system"]))
    assert back.features == ["save-system"]
    assert "save-system" in by_key(back)
    assert by_key(back)["save-system"].code != keys["save-system"].code  # re-added work gets a new code


def test_edited_dependencies_survive_a_scope_change(
    planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft
) -> None:
    keys = by_key(plan)
    hud, metrics = keys["hud"], keys["level-metrics"]
    edited = apply(
        planner, brief, plan, EditTask(op="edit", code=hud.code, changes=TaskChanges(dependencies=[metrics.code]))
    )
    grown = apply(planner, brief, edited, ChangeScope(op="scope", scope="mvp"))
    assert by_key(grown)["hud"].dependencies == [metrics.code]


def test_scope_change_needs_a_template(planner: TemplatePlanner, catalogue: Catalogue, brief: GameBrief) -> None:
    handmade = draft(task("T-001", 0), task("T-002", 1, ["T-001"]), template=None)
    with pytest.raises(InvalidInput) as caught:
        revise(
            previous=handmade,
            brief=brief,
            feedback=Feedback(edits=[ChangeScope(op="scope", scope="full")]),
            catalogue=catalogue,
        )
    assert caught.value.extensions["errors"][0]["type"] == "scope_no_template"
    kept = revise(
        previous=handmade,
        brief=brief,
        feedback=Feedback(edits=[RemoveTask(op="remove", code="T-001")]),
        catalogue=catalogue,
    )
    assert kept.summary == "A plan."
    assert codes(kept) == ["T-002"]
    assert kept.template is None


def test_every_bad_edit_is_reported_and_nothing_changes(
    planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft
) -> None:
    before = plan.model_dump()
    with pytest.raises(InvalidInput) as caught:
        apply(
            planner,
            brief,
            plan,
            RemoveTask(op="remove", code="T-404"),
            EditTask(op="edit", code=plan.tasks[0].code, changes=TaskChanges(priority=1)),
            MoveTask(op="move", code="T-405"),
        )
    assert caught.value.detail == "2 of the 3 edits cannot be applied."
    assert [e["loc"][:2] for e in caught.value.extensions["errors"]] == [["edits", 0], ["edits", 2]]
    assert plan.model_dump() == before
    with pytest.raises(InvalidInput) as single:
        apply(planner, brief, plan, RemoveTask(op="remove", code="T-404"))
    assert single.value.detail == "1 of the 1 edit cannot be applied."


def test_revisions_are_deterministic(planner: TemplatePlanner, brief: GameBrief, plan: PlanDraft) -> None:
    keys = by_key(plan)
    edits = [
        SplitTask(op="split", code=keys["level-kit"].code, into=[new_task("Tiles"), new_task("Exits")]),
        ChangeScope(op="scope", scope="full", add_features=["achievements"]),
        MergeTasks(op="merge", codes=[keys["core-sfx"].code, keys["hud"].code]),
    ]
    first = apply(planner, brief, plan, *edits)
    second = apply(planner, brief, plan, *edits)
    assert first.model_dump() == second.model_dump()
    assert draft_problems(first, planner.catalogue, engine="godot") == []
    assert len({t.code for t in first.tasks}) == len(first.tasks)
