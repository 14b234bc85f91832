"""The offline planner plans what the brief names: features by meaning, their own tasks, genres and platforms."""

import pytest

from gateway.app.planner import GameBrief, PlanDraft, PlanningRequest
from gateway.app.planner.library import load_library
from gateway.app.planner.matching import concepts, head, stem
from gateway.app.planner.template import TemplatePlanner


def plan_for(planner: TemplatePlanner, **brief) -> PlanDraft:
    return planner.propose(PlanningRequest(brief=GameBrief(**brief)))


def says(plan: PlanDraft, phrase: str) -> list[str]:
    """Titles of the tasks that say they cover a brief feature."""
    return [
        t.title for t in plan.tasks if f"The brief asks for: {phrase}." in t.description or phrase in t.title.lower()
    ]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("bosses", "boss"),
        ("sliding", "slid"),
        ("slide", "slid"),
        ("rooms", "room"),
        ("enemies", "enemy"),
        ("dashes", "dash"),
        ("saving", "sav"),
        ("boss", "boss"),
        ("running", "run"),
    ],
)
def test_stems_meet_their_base_word(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_concepts_fold_synonyms_and_drop_filler() -> None:
    assert concepts("online co-op multiplayer") == {"multiplayer"}
    assert concepts("online leaderboards") == {"onlin", "leaderboard"}
    assert concepts("Three bosses") == {"boss"}
    assert concepts("the gamepad support") == {"controller"}
    assert head("online leaderboards") == "leaderboard"
    assert concepts("") == frozenset()


def test_the_metroidvania_brief_gets_a_task_for_every_feature_and_keeps_switch(planner: TemplatePlanner) -> None:
    plan = plan_for(
        planner,
        title="Hollow Lantern",
        genre="metroidvania",
        engine="Godot 4",
        platforms=["PC", "Switch"],
        features=["double jump", "wall slide", "save rooms", "three bosses", "map screen"],
    )
    assert plan.template == "metroidvania/godot"
    titles = [t.title for t in plan.tasks]
    assert not any("world 1 (eight levels)" in t for t in titles), "not the platformer template"
    for phrase in ("double jump", "wall slide", "save rooms", "three bosses", "map screen"):
        assert says(plan, phrase), phrase
    assert "Nintendo Switch" in plan.summary
    assert any("porting partner" in n and "Switch" in n for n in plan.notes)
    console = [t for t in plan.tasks if t.template_key in {"console-approval", "console-certification"}]
    assert len(console) == 2
    assert "W4 Games" in console[0].description
    release = next(t for t in plan.tasks if t.template_key == "release-builds")
    assert "Nintendo Switch — no public export template" in release.description


def test_a_phaser_card_battler_roguelike_is_a_deckbuilder_not_a_puzzle(planner: TemplatePlanner) -> None:
    plan = plan_for(
        planner, title="Ashen Deck", genre="card-battler roguelike", engine="Phaser", platforms=["web", "switch"]
    )
    assert plan.template == "roguelike-deckbuilder/phaser"
    titles = " ".join(t.title for t in plan.tasks)
    assert "Solver" not in titles
    assert "Board model" not in titles
    assert "Battle rules engine" in titles
    assert any("Switch" in n and "browser" in n for n in plan.notes), "the dropped platform is explained"


@pytest.mark.parametrize(
    ("feature", "module"),
    [
        ("online co-op multiplayer", "multiplayer"),
        ("co-op", "multiplayer"),
        ("online leaderboards", "leaderboards"),
        ("gamepad support", "controller-support"),
        ("cloud saves", "save-system"),
        ("colour-blind mode", "accessibility"),
    ],
)
def test_features_match_modules_by_meaning(planner: TemplatePlanner, feature: str, module: str) -> None:
    plan = plan_for(planner, title="X", genre="puzzle", features=[feature])
    module_keys = {spec.key for spec in load_library().features[module].tasks}
    assert module_keys & {t.template_key for t in plan.tasks}, feature
    assert not [t for t in plan.tasks if (t.template_key or "").startswith("brief-")], "no own tasks when matched"


def test_save_rooms_match_the_metroidvania_task(planner: TemplatePlanner) -> None:
    plan = plan_for(planner, title="X", genre="metroidvania", features=["save rooms"])
    covering = [t for t in plan.tasks if "The brief asks for: save rooms." in t.description]
    assert [t.template_key for t in covering] == ["save-rooms"]
    assert "The brief's 'save rooms' works as described here" in covering[0].acceptance_criteria


def test_a_feature_no_template_covers_gets_design_build_and_test_tasks(planner: TemplatePlanner) -> None:
    plan = plan_for(planner, title="Fort", genre="city builder", engine="unity", features=["level editor"])
    own = [t for t in plan.tasks if (t.template_key or "").startswith("brief-level-editor")]
    assert [t.title for t in own] == ["Level editor: design", "Level editor: build", "Level editor: test"]
    assert [t.discipline for t in own] == ["design", "programming", "qa"]
    assert own[0].deliverables[0].name == "docs/level-editor-design.md"
    assert own[1].deliverables[0].name == "Assets/Scripts/LevelEditor/LevelEditor.cs"
    assert own[0].code in own[1].dependencies
    assert own[1].code in own[2].dependencies
    assert "level editor" in plan.summary
    assert any("No template module covers feature 'level editor'" in n for n in plan.notes)


def test_level_editor_is_not_taken_for_the_levels_task(planner: TemplatePlanner) -> None:
    plan = plan_for(planner, title="X", genre="metroidvania", features=["level editor"])
    assert [t.title for t in plan.tasks if t.title.startswith("Level editor")]


def test_a_covering_task_outside_the_scope_is_planned_anyway(planner: TemplatePlanner) -> None:
    plan = plan_for(
        planner, title="X", genre="metroidvania", scope="prototype", features=["three bosses", "fast travel"]
    )
    keys = {t.template_key for t in plan.tasks}
    assert {"bosses", "fast-travel"} <= keys


def test_no_x_leaves_out_a_template_task_the_feature_names(planner: TemplatePlanner) -> None:
    plan = plan_for(planner, title="Fort", genre="city builder", scope="full", features=["no disasters"])
    assert "events-disasters" not in {t.template_key for t in plan.tasks}
    assert any("no 'disasters'" in n for n in plan.notes)


def test_an_unknown_genre_says_so_in_the_summary(planner: TemplatePlanner) -> None:
    plan = plan_for(planner, title="X", genre="underwater dating sim")
    assert "underwater dating sim" in plan.summary
    assert "fallback" in plan.summary.lower()


@pytest.mark.parametrize(
    ("genre", "template"),
    [
        ("Metroidvania", "metroidvania"),
        ("deckbuilder", "roguelike-deckbuilder"),
        ("colony sim", "city-builder"),
        ("tycoon", "city-builder"),
        ("boomer shooter", "fps"),
        ("FPS", "fps"),
        ("first-person shooter", "fps"),
        ("Slay the Spire-like", "roguelike-deckbuilder"),
    ],
)
def test_new_genres_resolve(planner: TemplatePlanner, genre: str, template: str) -> None:
    assert plan_for(planner, title="X", genre=genre).template.split("/")[0] == template


def test_unity_keeps_consoles_and_phaser_explains_why_not(planner: TemplatePlanner) -> None:
    unity = plan_for(planner, title="X", genre="fps", engine="unity", platforms=["pc", "ps5", "xbox"])
    assert "PlayStation" in unity.summary
    assert "Xbox" in unity.summary
    assert "console-approval" in {t.template_key for t in unity.tasks}
    phaser = plan_for(planner, title="X", genre="fps", engine="phaser", platforms=["web", "xbox"])
    assert "Xbox" not in phaser.summary
    assert any("Xbox" in n and "native port" in n for n in phaser.notes)
    assert "console-approval" not in {t.template_key for t in phaser.tasks}


def test_local_co_op_is_not_netcode(planner: TemplatePlanner) -> None:
    plan = plan_for(planner, title="X", genre="platformer", features=["couch co-op"])
    keys = {t.template_key for t in plan.tasks}
    assert "local-players" in keys
    assert "netcode-design" not in keys


def test_existing_genres_name_what_their_tasks_cover(planner: TemplatePlanner) -> None:
    plan = plan_for(planner, title="X", genre="visual novel", features=["branching choices", "voice acting", "gallery"])
    assert not [t for t in plan.tasks if (t.template_key or "").startswith("brief-")]
    for phrase in ("branching choices", "voice acting", "gallery"):
        assert says(plan, phrase), phrase
