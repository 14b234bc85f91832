"""The files the demo's simulated agents hand in are real: the gateway's own validators accept each one."""

import pytest

from gateway.app.validation import validate
from gateway.cli import demo_files

TASK = {"code": "T-005", "title": "Player controller", "description": "Run and jump.", "acceptance_criteria": ["Jumps"]}
CASES = [
    ("docs/game-design.md", "document"),
    ("scripts/player/player_controller.gd", "code"),
    ("scripts/camera/platformer_camera.gd", "code"),
    ("assets/sprites/player/player.png", "asset"),
    ("assets/audio/sfx/jump.wav", "asset"),
    ("project.godot", "code"),
    ("scenes/player/player.tscn", "asset"),
    ("data/player/player_tuning.tres", "asset"),
    ("export_presets.cfg", "code"),
]


@pytest.mark.parametrize(("path", "category"), CASES)
def test_each_made_file_is_valid(tmp_path, path, category):
    content = demo_files.make(TASK, path)
    assert content
    file = tmp_path / path.rsplit("/", 1)[-1]
    file.write_bytes(content)
    report = validate(file, name=path, category=category)
    assert report.status == "valid", report


def test_screenshots_are_pngs_and_unknown_kinds_are_not_made(tmp_path):
    shot = tmp_path / "shot.png"
    shot.write_bytes(demo_files.screenshot(TASK))
    assert validate(shot, name="screenshots/t-005.png", category="screenshot").status == "valid"
    assert demo_files.make(TASK, "art/player/player.aseprite") is None
    assert demo_files.make(TASK, "Makefile") is None
