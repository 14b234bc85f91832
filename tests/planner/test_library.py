"""The template library: data consistency, name resolution and nearest-template fallbacks."""

import pytest

from gateway.app.planner import library
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.library import (
    TemplateError,
    fill,
    kebab,
    load_library,
    normalise_feature,
    normalise_text,
    pascal,
    resolve_engine,
    resolve_genre,
    snake,
    with_changes,
)
from gateway.app.planner.models import CATEGORIES

GENRES = {
    "platformer-2d",
    "top-down-action",
    "puzzle",
    "rpg",
    "visual-novel",
    "racing",
    "metroidvania",
    "roguelike-deckbuilder",
    "city-builder",
    "fps",
}
ENGINES = {"godot", "unity", "phaser"}


def test_library_has_the_promised_templates() -> None:
    lib = load_library()
    assert load_library() is lib
    assert set(lib.genres) >= GENRES
    assert set(lib.engines) >= ENGINES
    assert {"multiplayer", "save-system", "localisation", "controller-support", "procedural-levels"} <= set(
        lib.features
    )
    assert {"leaderboards", "achievements"} <= set(lib.features)


def test_engine_data_is_complete_and_consistent(catalogue: Catalogue) -> None:
    lib = load_library()
    vocab_keys = {key for engine in lib.engines.values() for key in engine.vocab}
    kinds = {kind for engine in lib.engines.values() for kind in engine.deliverables}
    for engine in lib.engines.values():
        for key in ("folders", "naming", "coding_style", "scene_format", "code_extensions", "asset_extensions"):
            assert engine.conventions[key], (engine.key, key)
        assert set(engine.default_platforms) <= set(engine.platforms)
        assert engine.release_steps
        assert set(engine.servers) == {"design", "programming", "art", "audio", "ui", "qa", "release"}
        for names in engine.servers.values():
            assert all(catalogue.get(name) and catalogue.fits_engine(name, engine.key) for name in names)
        for pattern, category in engine.deliverables.values():
            assert category in CATEGORIES
            assert pattern.format(dir="d", Dir="D", name="n", Name="N", kebab="k")
        for refs in engine.roles.values():
            for ref in refs:
                assert catalogue.is_known(ref), (engine.key, ref)
                assert catalogue.fits_engine(ref, engine.key), (engine.key, ref)
        # Engines share one vocabulary, except the 3D words Phaser (2D only) does not need.
        assert vocab_keys - set(engine.vocab) <= {"body3d", "model_import"}, engine.key
        if "3d" in engine.dimensions:
            assert kinds <= set(engine.deliverables), engine.key
    for refs in lib.roles.values():
        assert all(catalogue.is_known(ref) for ref in refs)


def test_genre_and_engine_words_do_not_collide() -> None:
    lib = load_library()
    engine_words = {key for engine in lib.engines.values() for key in engine.vocab}
    genre_keys = set()
    for genre in lib.genres.values():
        assert not engine_words & set(genre.vocab), genre.key
        genre_keys |= set(genre.vocab)
    for genre in lib.genres.values():
        assert set(genre.vocab) == genre_keys, genre.key
        assert genre.defaults["pillars"]
        assert genre.defaults["constraints"]
        assert genre.defaults["glossary"]
        assert set(genre.default_features()) <= set(lib.features)


def test_task_keys_are_unique_across_the_library() -> None:
    lib = load_library()
    keys = [spec.key for spec in lib.common]
    for feature in lib.features.values():
        keys += [spec.key for spec in feature.tasks]
    shared = set(keys)
    assert len(keys) == len(shared)
    for genre in lib.genres.values():
        own = [spec.key for spec in genre.tasks]
        assert len(own) == len(set(own)), genre.key
        assert not shared & set(own), genre.key
        assert set(genre.overrides) <= shared | set(own), genre.key
        assert set(genre.exclude) <= shared


@pytest.mark.parametrize(
    ("asked", "genre", "exact"),
    [
        ("platformer-2d", "platformer-2d", True),
        ("2D Platformer", "platformer-2d", True),
        ("Platformer game", "platformer-2d", True),
        ("JRPG", "rpg", True),
        ("visual novel", "visual-novel", True),
        ("Kart racer", "racing", True),
        ("twin-stick shooter", "top-down-action", True),
        ("metroidvania", "metroidvania", True),
        ("endless runner", "platformer-2d", False),
        ("match-3", "puzzle", False),
        ("Match 3", "puzzle", False),
        ("dungeon crawler", "rpg", False),
        ("bullet hell", "top-down-action", False),
        ("point-and-click", "visual-novel", False),
        ("sim racing", "racing", False),
        ("a cozy metroidvania with cats", "metroidvania", False),
        ("kart racing with items", "racing", False),
    ],
)
def test_genre_resolution(asked: str, genre: str, exact: bool) -> None:
    resolution = resolve_genre(asked)
    assert (resolution.key, resolution.exact) == (genre, exact)
    assert resolution.requested == asked
    assert (resolution.reason is None) == exact


def test_related_and_mentioned_genres_say_why() -> None:
    assert "automatic forward movement" in resolve_genre("endless runner").reason
    mentioned = resolve_genre("a cozy metroidvania with cats")
    assert mentioned.reason.startswith("'a cozy metroidvania with cats' mentions 'metroidvania'")
    alias = resolve_genre("retro jrpg with dragons")
    assert (alias.key, alias.exact) == ("rpg", False)
    assert "mentions 'jrpg'" in alias.reason


def test_unknown_or_missing_genre_uses_the_documented_default() -> None:
    unknown = resolve_genre("underwater basket weaving")
    assert (unknown.key, unknown.exact) == ("top-down-action", False)
    assert "no genre template matches" in unknown.reason
    missing = resolve_genre(None)
    assert missing.key == "top-down-action"
    assert missing.requested is None
    assert "names no genre" in missing.reason
    assert resolve_genre("  ").requested is None


@pytest.mark.parametrize(
    ("asked", "engine", "exact"),
    [
        ("godot", "godot", True),
        ("Godot 4", "godot", True),
        ("Unity 6", "unity", True),
        ("Unity3D", "unity", True),
        ("Phaser 3", "phaser", True),
        ("pixi", "phaser", False),
        ("PixiJS", "phaser", False),
        ("web", "phaser", False),
        ("HTML5", "phaser", False),
        ("Unreal Engine 5", "unity", False),
        ("GameMaker", "godot", False),
        ("godot 3", "godot", False),
        ("my own C++ engine", "godot", False),
    ],
)
def test_engine_resolution(asked: str, engine: str, exact: bool) -> None:
    resolution = resolve_engine(asked)
    assert (resolution.key, resolution.exact) == (engine, exact)
    assert (resolution.reason is None) == exact


def test_missing_engine_defaults_by_platform() -> None:
    assert resolve_engine(None).key == "godot"
    web_only = resolve_engine(None, ["web"])
    assert web_only.key == "phaser"
    assert "only the web" in web_only.reason
    assert resolve_engine("", ["web", "windows"]).key == "godot"


def test_feature_spellings() -> None:
    assert normalise_feature("Localization") == "localisation"
    assert normalise_feature("i18n") == "localisation"
    assert normalise_feature("Save System") == "save-system"
    assert normalise_feature("gamepad") == "controller-support"
    assert normalise_feature("co-op") == "multiplayer"
    assert normalise_feature("no-save-system") == "no-save-system"
    assert normalise_feature("-procgen") == "no-procedural-levels"
    assert normalise_feature("without trophies") == "no-achievements"
    assert normalise_feature("Photo Mode") == "photo-mode"
    assert normalise_feature("-") == "-"


def test_listing_helpers() -> None:
    assert {g["key"] for g in library.genres()} == GENRES
    assert {e["key"] for e in library.engines()} == ENGINES
    assert all(e["language"] for e in library.engines())
    assert {f["key"] for f in library.features()} == set(load_library().features)
    keys = library.template_keys()
    assert len(keys) == len(GENRES) * len(ENGINES)
    assert "platformer-2d/godot" in keys
    assert "racing/phaser" in keys


def test_naming_helpers() -> None:
    assert snake("Player Controller") == "player_controller"
    assert pascal("player controller") == "PlayerController"
    assert pascal("level 1 8") == "Level1_8"
    assert kebab("World 1 tiles") == "world-1-tiles"
    assert pascal("battle hud") == "BattleHUD"
    assert pascal("ui kit") == "UIKit"
    assert normalise_text("  Side-Scroller_Game ") == "side scroller game"


def test_fill_refuses_unknown_tokens() -> None:
    assert fill("Use {engine}.", {"engine": "Godot"}, where="test") == "Use Godot."
    with pytest.raises(TemplateError, match=r"test: unknown token \{nope\}"):
        fill("Use {nope}.", {}, where="test")


def test_overrides_extend_or_replace_task_fields() -> None:
    spec = next(s for s in load_library().common if s.key == "hud")
    changed = with_changes(
        spec,
        {
            "add_depends": ["input-map", "project-setup"],
            "add_criteria": ["Extra"],
            "add_roles": ["docs"],
            "priority": 5,
            "deliverables": [{"kind": "doc", "name": "hud spec"}],
        },
    )
    assert changed.depends == ("project-setup", "input-map")
    assert changed.criteria[-1] == "Extra"
    assert changed.roles[-1] == "docs"
    assert changed.priority == 5
    assert [d.name for d in changed.deliverables] == ["hud spec"]
    assert spec.for_engine("godot") is spec
    with pytest.raises(TemplateError, match="unknown override field"):
        with_changes(spec, {"colour": "red"})


def test_broken_task_data_is_reported() -> None:
    entry = {
        "key": "x",
        "title": "X",
        "discipline": "design",
        "scope": "mvp",
        "stage": 1,
        "priority": 3,
        "points": 1,
        "hours": 1,
        "description": "X",
        "criteria": ["X"],
    }
    assert library._task(entry, "test").key == "x"
    with pytest.raises(TemplateError, match="missing field"):
        library._task({k: v for k, v in entry.items() if k != "title"}, "test")
    for change in ({"discipline": "sales"}, {"scope": "huge"}, {"priority": 7}, {"criteria": []}):
        with pytest.raises(TemplateError):
            library._task({**entry, **change}, "test")
