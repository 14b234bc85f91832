"""gateway/app/validation/dispatch.py: magic bytes before names, 0-byte and unknown files, categories that lie."""

import dataclasses
import hashlib
import json
import os

import pytest

from gateway.app.validation import CATEGORIES, VALIDATOR_VERSION, Detected, ValidationReport, detect, registry
from tests.app.validation.helpers import failed

PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\0" * 24


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("sprite.png", PNG_HEAD, Detected("png", "image/png", "asset")),
        ("SPRITE.PNG", PNG_HEAD, Detected("png", "image/png", "asset")),
        ("no-extension", PNG_HEAD, Detected("png", "image/png", "asset")),
        ("screenshot_01.png", PNG_HEAD, Detected("png", "image/png", "screenshot")),
        ("Bildschirmfoto 2026.png", PNG_HEAD, Detected("png", "image/png", "screenshot")),
        ("textures\\screen-grab.png", PNG_HEAD, Detected("png", "image/png", "screenshot")),
        ("script.py", PNG_HEAD, Detected("png", "image/png", "asset")),  # content wins over the name
        ("player.gd", b"extends Node\n", Detected("gdscript", "text/x-gdscript", "code")),
        ("project.godot", b"config_version=5\n", Detected("godot_project", "application/x-godot-project", "code")),
        ("scenes/Main.tscn", b"[gd_scene format=3]\n", Detected("godot_scene", "application/x-godot-scene", "asset")),
        ("README.md", b"# hi\n", Detected("markdown", "text/markdown", "document")),
        ("ship.glb", b"glTF\x02\0\0\0", Detected("glb", "model/gltf-binary", "asset")),
        ("notes", b"plain words\n", Detected("text", "text/plain", "document")),
        ("data.bin", b"\x00\x01\x02\xff", Detected("unknown", "application/octet-stream", "asset")),
        ("Font.TTF", b"\x00\x01\x00\x00", Detected("ttf", "font/ttf", "asset")),
        ("archive.kra", b"PK\x03\x04", Detected("krita", "application/x-krita", "asset")),
        ("some.zip", b"PK\x03\x04\x14\x00\x00\x00", Detected("unknown", "application/octet-stream", "asset")),
        ("App.tsx", b"import React from 'react';\n", Detected("typescript", "text/x-typescript", "code")),
        (
            "tiles.tsx",
            b'<?xml version="1.0"?>\n<tileset/>',
            Detected("tiled_tileset", "application/x-tiled-tsx", "asset"),
        ),
    ],
)
def test_detect(name, head, expected):
    assert detect(name, head) == expected


def test_every_registered_format_is_well_formed():
    specs = registry.formats()
    names = [spec.format for spec in specs]
    extensions = [ext for spec in specs for ext in spec.extensions]

    assert len(names) == len(set(names))
    shared = {ext for ext in extensions if extensions.count(ext) > 1}
    assert shared == {".tsx"}, "an extension shared by formats needs magic to tell them apart"
    for spec in specs:
        assert spec.category in CATEGORIES
        assert spec.categories <= set(CATEGORIES)
        assert spec.validate.__doc__, f"{spec.format} needs a one-line docstring"
        assert all(ext.startswith(".") and ext == ext.lower() for ext in spec.extensions)


def test_a_format_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("png", label="x", mime_type="image/png", category="asset")(lambda subject: None)


@pytest.mark.parametrize("category", [None, *CATEGORIES])
@pytest.mark.parametrize("name", ["empty.png", "empty.py", "empty.md", "empty.bin"])
def test_a_zero_byte_file_is_invalid_whatever_its_category(check, name, category):
    report = check(name, b"", category=category)

    assert report.status == "invalid"
    assert report.size_bytes == 0
    assert "The file is empty (0 bytes)." in report.errors


@pytest.mark.parametrize("category", [None, "asset", "code"])
def test_an_unknown_binary_type_is_unsupported(check, category):
    report = check("payload.bin", os.urandom(64).replace(b"\x00", b"\x01") + b"\x00", category=category)

    assert report.status == "invalid"
    assert report.format == "unknown"
    assert "Unsupported format" in failed(report)["format"]


@pytest.mark.parametrize(
    ("name", "data", "category", "allowed"),
    [
        ("player.gd", "extends Node\n", "screenshot", "code"),
        ("README.md", "# hi\n", "asset", "code, document"),
        ("song.ogg.txt", "not audio", "screenshot", "asset, code, document"),
    ],
)
def test_a_declared_category_that_contradicts_the_content_is_invalid(check, name, data, category, allowed):
    report = check(name, data, category=category)

    assert report.status == "invalid"
    assert report.category == category
    assert failed(report)["category"].endswith(f"can be: {allowed}.")


def test_the_report_is_json_with_the_digest_and_version(check, tmp_path):
    data = "print('hi')\n"
    report = check("hello.py", data)

    dumped = report.model_dump(mode="json")
    assert json.loads(json.dumps(dumped)) == dumped
    assert dumped["sha256"] == hashlib.sha256(data.encode()).hexdigest()
    assert dumped["validator_version"] == VALIDATOR_VERSION
    assert dumped["size_bytes"] == len(data)
    assert set(dumped) == {
        "status",
        "category",
        "format",
        "mime_type",
        "size_bytes",
        "sha256",
        "checks",
        "errors",
        "info",
        "validator_version",
    }
    assert set(dumped["checks"][0]) == {"name", "ok", "detail", "severity"}
    assert ValidationReport.model_validate(dumped) == report


def test_a_digest_from_the_caller_is_used_as_given(tmp_path):
    from gateway.app.validation import validate

    path = tmp_path / "blob"
    path.write_text("x = 1\n")
    assert validate(path, name="a.py", sha256="f" * 64).sha256 == "f" * 64


def test_a_validator_that_breaks_makes_the_file_invalid_not_the_request(check, monkeypatch):
    def explode(subject):
        raise IndexError("index out of range")

    spec = registry.get("python")
    monkeypatch.setitem(registry._FORMATS, "python", dataclasses.replace(spec, validate=explode))

    report = check("a.py", "x = 1\n")

    assert report.status == "invalid"
    assert failed(report)["validator"] == "The Python source could not be checked: IndexError: index out of range"


def test_a_header_only_asset_is_valid_only_with_its_signature(check):
    psd = check("art.psd", b"8BPS" + b"\0" * 40)
    fake = check("art.psd", b"GIMP" + b"\0" * 40)
    font = check("ui.ttf", b"\x00\x01\x00\x00" + b"\0" * 40)
    as_code = check("art.psd", b"8BPS" + b"\0" * 40, category="code")

    assert psd.status == "valid"
    assert "Header checked only" in next(c.detail for c in psd.checks if c.name == "content")
    assert "Not a Photoshop document" in failed(fake)["signature"]
    assert font.status == "valid"
    assert "Declared 'code'" in failed(as_code)["category"]
