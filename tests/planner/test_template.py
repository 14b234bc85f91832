"""The offline template planner: every genre x engine x scope, features, fallbacks and the project defaults."""

import re

import pytest

from gateway.app.planner import (
    Feedback,
    GameBrief,
    PlanDraft,
    Planner,
    PlanningRequest,
    game_defaults,
    get_planner,
    planner_kinds,
)
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.library import TaskSpec, TemplateError, load_library
from gateway.app.planner.models import DISCIPLINES, RemoveTask
from gateway.app.planner.template import (
    MAX_TASKS,
    MIN_TASKS,
    TemplatePlanner,
    build_plan,
    render_task,
    resolve_brief,
    stable_order,
)
from gateway.app.planner.validation import draft_problems
from tests.planner.helpers import by_key

LIB = load_library()
COMBOS = [(g, e) for g in LIB.genres for e in LIB.engines]
ALL_FEATURES = list(LIB.features)
CODE_SUFFIX = {
    "godot": (".gd", ".gdshader", ".godot", ".cfg", ".yml"),
    "unity": (".cs", ".yml"),
    "phaser": (".ts", ".json", ".yml"),
}


def propose(planner: TemplatePlanner, **brief: object) -> PlanDraft:
    return planner.propose(PlanningRequest(brief=GameBrief(**brief)))


def assert_well_formed(plan: PlanDraft, catalogue: Catalogue, engine: str) -> None:
    assert draft_problems(plan, catalogue, engine=engine) == []
    assert MIN_TASKS <= len(plan.tasks) <= MAX_TASKS
    assert {t.discipline for t in plan.tasks} == set(DISCIPLINES)
    assert [t.code for t in plan.tasks] == [f"T-{i + 1:03d}" for i in range(len(plan.tasks))]
    assert [t.idx for t in plan.tasks] == list(range(len(plan.tasks)))
    assert plan.highest_code == len(plan.tasks)
    for t in plan.tasks:
        text = " ".join([t.title, t.description, *t.acceptance_criteria])
        assert not re.search(r"\{[A-Za-z0-9_]+\}", text), (t.template_key, text)
        assert "TODO" not in text
        assert "TBD" not in text
        assert t.acceptance_criteria, t.template_key
        assert t.deliverables, t.template_key
        assert t.mcp_tools, t.template_key
        assert 1 <= t.estimates.story_points <= 13
        assert t.estimates.time_hours <= 60
        for ref in t.mcp_tools:
            server = catalogue.server_of(ref)
            assert not server.engines or server.engines == (engine,), (t.template_key, ref)
        for d in t.deliverables:
            if d.category == "code":
                assert d.name.endswith(CODE_SUFFIX[engine]), (t.template_key, d.name)


@pytest.mark.parametrize(("genre", "engine"), COMBOS)
@pytest.mark.parametrize("scope", ["prototype", "mvp", "full"])
def test_every_template_builds_a_valid_deterministic_plan(
    planner: TemplatePlanner, catalogue: Catalogue, genre: str, engine: str, scope: str
) -> None:
    plan = propose(planner, title="Test Game", genre=genre, engine=engine, scope=scope)
    assert_well_formed(plan, catalogue, engine)
    assert plan.template == f"{genre}/{engine}"
    assert plan.scope == scope
    again = propose(planner, title="Test Game", genre=genre, engine=engine, scope=scope)
    assert again.model_dump() == plan.model_dump()


@pytest.mark.parametrize(("genre", "engine"), COMBOS)
def test_every_feature_at_once_still_fits(
    planner: TemplatePlanner, catalogue: Catalogue, genre: str, engine: str
) -> None:
    plan = propose(
        planner, genre=genre, engine=engine, scope="full", features=ALL_FEATURES, platforms=["windows", "android"]
    )
    assert_well_formed(plan, catalogue, engine)
    keys = set(by_key(plan))
    for feature in LIB.features.values():
        essential = [spec.key for spec in feature.tasks if spec.scope == "prototype"]
        assert set(essential) <= keys, feature.key
    assert any("capped at 40 tasks" in note for note in plan.notes)


def test_scopes_grow(planner: TemplatePlanner) -> None:
    sizes = [len(propose(planner, genre="rpg", engine="godot", scope=s).tasks) for s in ("prototype", "mvp", "full")]
    assert sizes == sorted(sizes)
    assert sizes[0] < sizes[1] < sizes[2]


def test_plans_speak_the_engine(planner: TemplatePlanner) -> None:
    words = {"godot": "CharacterBody2D", "unity": "Rigidbody2D", "phaser": "Arcade Physics"}
    paths = {
        "godot": "scripts/player/player_controller.gd",
        "unity": "Assets/Scripts/Player/PlayerController.cs",
        "phaser": "src/game/player/PlayerController.ts",
    }
    for engine, word in words.items():
        controller = by_key(propose(planner, genre="platformer-2d", engine=engine))["player-controller"]
        assert word in controller.description
        assert controller.deliverables[0].name == paths[engine]
        assert f"`{paths[engine]}`" in controller.description


def test_racing_is_3d_in_godot_and_top_down_in_phaser(planner: TemplatePlanner) -> None:
    godot = by_key(propose(planner, genre="racing", engine="godot"))
    assert godot["track-blockout"].deliverables[0].name.endswith(".glb")
    assert "blender.execute_blender_code" in godot["car-model"].mcp_tools
    assert "VehicleBody3D" in godot["vehicle-controller"].description
    phaser = by_key(propose(planner, genre="racing", engine="phaser"))
    assert "Tiled" in phaser["track-blockout"].description
    assert not any(d.name.endswith((".glb", ".fbx")) for t in phaser.values() for d in t.deliverables)
    assert not any(ref.startswith("blender") for t in phaser.values() for ref in t.mcp_tools)
    assert "aseprite.create_canvas" in phaser["car-model"].mcp_tools


def test_art_tools_follow_the_art_style(planner: TemplatePlanner) -> None:
    pixel = by_key(propose(planner, genre="platformer-2d", engine="unity"))
    assert "aseprite.create_canvas" in pixel["player-art"].mcp_tools
    painted = by_key(propose(planner, genre="visual-novel", engine="unity"))
    assert "filesystem.read_media_file" in painted["character-sprites"].mcp_tools
    assert not any(ref.startswith("aseprite") for ref in painted["character-sprites"].mcp_tools)
    hd = by_key(propose(planner, genre="platformer-2d", engine="godot", art_style="hand-painted HD sprites"))
    assert "aseprite.create_canvas" not in hd["player-art"].mcp_tools
    assert "hand-painted HD sprites" in hd["player-art"].description


def test_painted_art_keeps_layered_sources(planner: TemplatePlanner) -> None:
    sources = {
        "godot": "art/characters/cast.psd",
        "unity": "Assets/Art/Sprites/Characters/Cast.psb",
        "phaser": "art/characters/cast.psd",
    }
    for engine, path in sources.items():
        sprites = by_key(propose(planner, genre="visual-novel", engine=engine))["character-sprites"]
        assert sprites.deliverables[0].name == path
    pixel = by_key(propose(planner, genre="rpg", engine="unity"))["character-art"]
    assert pixel.deliverables[0].name.endswith(".aseprite")


def test_web_targets_get_browser_checks(planner: TemplatePlanner) -> None:
    desktop = by_key(propose(planner, genre="puzzle", engine="godot", platforms=["windows"]))
    assert not any(ref.startswith("playwright") for ref in desktop["playtest-build"].mcp_tools)
    web = by_key(propose(planner, genre="puzzle", engine="godot", platforms=["web"]))
    assert "playwright.browser_navigate" in web["playtest-build"].mcp_tools
    assert "Compatibility renderer" in web["release-builds"].description


def test_features_add_tasks(planner: TemplatePlanner) -> None:
    plain = by_key(propose(planner, genre="puzzle", engine="unity"))
    localised = by_key(propose(planner, genre="puzzle", engine="unity", features=["localization"]))
    assert "localisation-pipeline" not in plain
    assert {"localisation-pipeline", "translations"} <= set(localised)
    rc = localised["release-candidate"]
    assert localised["translations"].code in rc.dependencies
    assert "Localization package" in localised["localisation-pipeline"].description


def test_requested_feature_core_survives_a_small_scope(planner: TemplatePlanner) -> None:
    plan = by_key(propose(planner, genre="rpg", engine="godot", scope="prototype", features=["save system"]))
    assert "save-system" in plan
    assert "save-slots-ui" not in plan
    # save-system depends on game-flow, which a prototype leaves out: it inherits game-flow's own dependencies.
    assert set(plan["save-system"].dependencies) == {plan["project-setup"].code, plan["input-map"].code}


def test_genre_defaults_can_be_removed(planner: TemplatePlanner) -> None:
    default = propose(planner, genre="rpg", engine="godot")
    assert "save-system" in by_key(default)
    assert "save-system" in default.summary.replace(" ", "-")
    removed = propose(planner, genre="rpg", engine="godot", features=["no-save-system"])
    assert "save-system" not in by_key(removed)
    assert any("adds 'save-system' by default; left out" in note for note in removed.notes)
    assert removed.features == ["no-save-system"]
    prototype = by_key(propose(planner, genre="rpg", engine="godot", scope="prototype"))
    assert "save-system" not in prototype  # the genre adds saves from the MVP on


def test_unknown_features_get_their_own_tasks_and_a_note(planner: TemplatePlanner) -> None:
    plan = propose(planner, genre="puzzle", engine="godot", features=["photo mode", "no-jetpack"])
    notes = " ".join(plan.notes)
    assert "No template module covers feature 'photo mode'" in notes
    assert "nothing for feature 'jetpack', so there was nothing to remove" in notes
    assert [t.title for t in plan.tasks if t.title.startswith("Photo mode")] == [
        "Photo mode: design",
        "Photo mode: build",
        "Photo mode: test",
    ]


def test_mobile_platforms_bring_touch_controls(planner: TemplatePlanner) -> None:
    plan = propose(planner, genre="puzzle", engine="unity", platforms=["mobile"])
    assert "touch-controls" in by_key(plan)
    assert any("touch-controls" in note for note in plan.notes)
    without = propose(planner, genre="puzzle", engine="unity", platforms=["ios"], features=["no-touch"])
    assert "touch-controls" not in by_key(without)


def test_fallbacks_are_explained(planner: TemplatePlanner, catalogue: Catalogue) -> None:
    plan = propose(planner, title="Moonwell", genre="endless runner", engine="pixi")
    assert plan.template == "platformer-2d/phaser"
    assert "Genre fallback: asked for 'endless runner', planned with the 2D platformer template" in plan.summary
    assert "Engine fallback: asked for 'pixi', planned with the Phaser template" in plan.summary
    assert sum("fallback" in note for note in plan.notes) == 2
    assert_well_formed(plan, catalogue, "phaser")
    defaults = propose(planner, title="Mystery")
    assert defaults.template == "top-down-action/godot"
    assert "names no genre" in defaults.summary
    assert "names no engine" in defaults.summary
    exact = propose(planner, genre="JRPG", engine="Godot 4")
    assert "fallback" not in exact.summary
    assert exact.template == "rpg/godot"


def test_unknown_engine_names_the_default_and_why(planner: TemplatePlanner) -> None:
    plan = propose(planner, genre="puzzle", engine="Frostbite")
    assert plan.template == "puzzle/godot"
    assert "no engine template matches 'Frostbite'" in plan.summary


def test_platforms_the_engine_cannot_export_are_called_out(planner: TemplatePlanner) -> None:
    plan = propose(planner, genre="puzzle", engine="phaser", platforms=["web", "switch"])
    assert any(
        "'Nintendo Switch' is left out of the build tasks: a Phaser game runs in a browser" in note
        for note in plan.notes
    )
    assert "for the web" in plan.summary
    none_fit = propose(planner, genre="puzzle", engine="phaser", platforms=["xbox"])
    assert any("builds target the web instead" in note for note in none_fit.notes)
    unity = by_key(propose(planner, genre="puzzle", engine="unity", platforms=["switch", "windows"]))
    assert "Nintendo developer account" in unity["release-builds"].description


def test_what_the_planner_does_not_read_is_noted(planner: TemplatePlanner) -> None:
    request = PlanningRequest(
        brief=GameBrief(genre="rpg", engine="unity", pitch="A knight who is afraid of the dark."),
        context={"game": {"title": "Lantern"}},
        feedback=Feedback(text="More dungeons please"),
    )
    notes = " ".join(planner.propose(request).notes)
    assert "pitch was not interpreted" in notes
    assert "project context was not interpreted" in notes
    assert "Free-text feedback was kept for an LLM planner" in notes


def test_brief_shapes_the_text(planner: TemplatePlanner) -> None:
    plan = by_key(
        propose(
            planner,
            title="Lantern",
            genre="rpg",
            engine="unity",
            pillars=["light is a resource", "no random battles"],
            audience="teenagers new to RPGs",
            platforms=["windows", "linux"],
        )
    )
    design = plan["game-design-doc"]
    assert design.title == "One-page design document for Lantern"
    assert "light is a resource; no random battles" in design.description
    assert "teenagers new to RPGs" in design.description
    assert "Windows and Linux" in plan["release-builds"].description


def test_edits_without_a_previous_plan_apply_to_a_fresh_one(planner: TemplatePlanner) -> None:
    fresh = propose(planner, genre="puzzle", engine="godot", scope="prototype")
    removed = by_key(fresh)["piece-art"].code
    request = PlanningRequest(
        brief=GameBrief(genre="puzzle", engine="godot", scope="prototype"),
        feedback=Feedback(edits=[RemoveTask(op="remove", code=removed)]),
    )
    revised = planner.propose(request)
    assert removed not in {t.code for t in revised.tasks}
    assert len(revised.tasks) == len(fresh.tasks) - 1


def test_game_defaults_describe_the_project(catalogue: Catalogue) -> None:
    defaults = game_defaults(GameBrief(title="Star Courier", genre="endless runner", engine="unity", features=["i18n"]))
    assert defaults["template"] == "platformer-2d/unity"
    assert defaults["game"]["title"] == "Star Courier"
    assert defaults["game"]["engine"] == "unity"
    assert defaults["game"]["platforms"] == ["windows", "macos"]
    assert defaults["game"]["features"] == ["controller-support", "localisation"]
    assert defaults["conventions"]["engine"] == "Unity 6"
    assert defaults["conventions"]["language"] == "C#"
    assert defaults["conventions"]["folders"]
    assert defaults["conventions"]["naming"]
    assert defaults["build"]["release_steps"]
    assert "windows" in defaults["build"]["platforms"]
    assert any("Art style" in c for c in defaults["constraints"])
    assert "coyote time" in defaults["glossary"]
    assert defaults["fallbacks"]
    assert "endless runner" in defaults["fallbacks"][0]
    assert "unity" in defaults["mcp_servers"]["programming"]
    assert "godot" not in defaults["mcp_servers"]["programming"]
    assert all(catalogue.get(name) for names in defaults["mcp_servers"].values() for name in names)
    assert set(defaults["features"]) == {"controller-support", "localisation"}


def test_registry() -> None:
    assert planner_kinds() == ["template", "llm"]
    planner = get_planner()
    assert isinstance(planner, Planner)
    assert planner.name == "template"
    with pytest.raises(ValueError, match="unknown planner kind 'oracle'"):
        get_planner("oracle")


def test_template_errors_are_caught_early() -> None:
    context = resolve_brief(GameBrief(genre="puzzle", engine="godot"))
    spec = next(s for s in LIB.common if s.key == "hud")
    broken_kind = TaskSpec(
        **{**spec.__dict__, "deliverables": (spec.deliverables[0].__class__(kind="hologram", name="x"),)}
    )
    with pytest.raises(TemplateError, match="no deliverable kind 'hologram'"):
        render_task(broken_kind, context)
    broken_role = TaskSpec(**{**spec.__dict__, "roles": ("telepathy",)})
    with pytest.raises(TemplateError, match="unknown tool role 'telepathy'"):
        render_task(broken_role, context)
    assert stable_order(["a", "b"], {"a": ["b"], "b": ["a"]}, {"a": 0, "b": 1}) is None
    assert stable_order(["a", "b"], {"a": ["b"], "b": []}, {"a": 0, "b": 1}) == ["b", "a"]


def test_build_plan_matches_propose(planner: TemplatePlanner) -> None:
    brief = GameBrief(genre="visual-novel", engine="phaser")
    assert build_plan(resolve_brief(brief)).model_dump() == planner.propose(PlanningRequest(brief=brief)).model_dump()
