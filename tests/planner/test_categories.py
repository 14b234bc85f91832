"""One category table: the planner's deliverables and the category an upload is given agree, file kind by kind."""

from pathlib import Path

import pytest

from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.library import TemplateError, _deliverable, load_library
from gateway.app.planner.models import Deliverable, GameBrief
from gateway.app.planner.template import build_plan, resolve_brief
from gateway.app.planner.validation import draft_problems
from gateway.app.validation import categories, validate
from tests import samples
from tests.planner.helpers import draft, task

SCENE = b'[gd_scene format=3]\n\n[node name="Main" type="Node2D"]\n'
RESOURCE = b'[gd_resource type="Resource" format=3]\n\n[resource]\nspeed = 120.0\n'
UNITY = b"%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n--- !u!1 &1\nGameObject:\n  m_Name: Player\n"

# (where the plan puts a file, a real file of that kind, the category the plan declares)
FILES = [
    ("scenes/player/player.tscn", SCENE, "asset"),
    ("data/player/player_tuning.tres", RESOURCE, "asset"),
    ("public/assets/data/levels.json", b'{"levels": []}', "asset"),
    ("Assets/Settings/Input/Controls.inputactions", b'{"maps": []}', "asset"),
    ("package.json", b'{"name": "game"}', "code"),
    ("project.godot", b"config_version=5\n", "code"),
    ("scripts/player/player.gd", b"extends Node\n", "code"),
    ("Assets/Scripts/Player.cs", b"class Player {}\n", "code"),
    ("src/game/scenes/Boot.ts", b"export const boot = 1;\n", "code"),
    ("export_presets.cfg", b'[preset.0]\nname="Linux"\n', "code"),
    (".github/workflows/ci.yml", b"on: push\n", "code"),
    ("Assets/Scenes/Main.unity", UNITY, "asset"),
    ("Assets/Audio/Main.mixer", UNITY, "asset"),
    ("Assets/UI/Main.uxml", b"<ui:UXML/>\n", "asset"),
    ("Assets/UI/Main.uss", b".root { color: red; }\n", "asset"),
    ("localization/strings.csv", b"keys,en\nHELLO,Hello\n", "asset"),
    ("story/intro.ink", b"Hello.\n-> END\n", "document"),
    ("docs/game-design.md", b"# Design\n", "document"),
    ("docs/screenshots/title-screen.png", samples.png(160, 90), "screenshot"),
    ("assets/sprites/player/idle.png", samples.png(), "asset"),
]


@pytest.mark.parametrize(("path", "data", "category"), FILES, ids=[f[0] for f in FILES])
def test_an_upload_without_a_category_gets_the_one_the_plan_declares(tmp_path: Path, path, data, category):
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    report = validate(blob, name=path.rsplit("/", 1)[-1], project_path=path)
    assert report.status == "valid", report.errors
    assert categories.for_path(path) == category
    assert report.category == category


@pytest.mark.parametrize("engine", ["godot", "unity", "phaser"])
@pytest.mark.parametrize("genre", sorted(load_library().genres))
def test_every_planned_deliverable_has_the_tables_category(genre, engine):
    plan = build_plan(resolve_brief(GameBrief(title="Game", genre=genre, engine=engine)))
    declared = {(d.name, d.category) for t in plan.tasks for d in t.deliverables}
    assert declared
    assert {(name, categories.for_path(name)) for name, _ in declared} == declared


def test_every_deliverable_kind_of_every_engine_is_decided_by_the_table():
    for engine in load_library().engines.values():
        for kind, (path, category) in engine.deliverables.items():
            assert categories.for_path(path) == category, (engine.key, kind, path)


def test_an_engine_file_that_contradicts_the_table_is_refused():
    with pytest.raises(TemplateError, match="the category table says 'asset'"):
        _deliverable("godot", "scene", {"path": "scenes/{name}.tscn", "category": "code"})
    assert _deliverable("godot", "scene", {"path": "scenes/{name}.tscn"}) == ("scenes/{name}.tscn", "asset")
    assert _deliverable("x", "odd", {"path": "a/{name}.zzz", "category": "asset"}) == ("a/{name}.zzz", "asset")
    with pytest.raises(TemplateError, match="needs a category"):
        _deliverable("x", "odd", {"path": "a/{name}.zzz"})


def test_a_plan_may_not_declare_a_category_the_file_cannot_be(catalogue: Catalogue):
    deliverables = [
        Deliverable(name="scenes/main.tscn", category="screenshot"),
        Deliverable(name="docs/../../etc/passwd", category="document"),
        Deliverable(name="scenes/level.tscn", category="code"),  # a scene may be declared code
        Deliverable(name="notes/idea.zzz", category="asset"),  # a kind the table does not know: as declared
    ]
    problems = draft_problems(draft(task("T-001", 0, deliverables=deliverables)), catalogue)
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["tasks", 0, "deliverables", 0, "category"], "deliverable_category"),
        (["tasks", 0, "deliverables", 1, "name"], "deliverable_path"),
    ]
    assert problems[0]["msg"] == "scenes/main.tscn cannot be a screenshot: a file of that kind is asset or code"
