"""gateway/app/validation/code.py: code is UTF-8 and parses where a parser is at hand; engine text formats hold."""

import time

import pytest

from gateway.app.validation import Limits
from tests.app.validation.helpers import failed, passed, warnings

# --- Python, JSON -----------------------------------------------------------------------------------------


def test_python_that_parses_is_valid_code(check):
    report = check("player.py", "class Player:\n    def jump(self):\n        return 1\n\n\ndef main():\n    pass\n")

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type, report.category) == ("python", "text/x-python", "code")
    assert report.info["line_count"] == 7
    assert report.info["top_level_definitions"] == 2
    assert "python_syntax" in passed(report)


def test_python_with_a_syntax_error_is_invalid(check):
    report = check("broken.py", "def jump(:\n    pass\n")

    assert report.status == "invalid"
    assert "Python syntax error at line 1" in failed(report)["python_syntax"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = " + "(" * 5000 + ")" * 5000 + "\n", "too many nested parentheses"),
        ("a" + ".b" * 100_000 + "\n", "Python could not parse the file: RecursionError."),
        ("-" * 100_000 + "1\n", "Python could not parse the file: MemoryError."),
    ],
)
def test_python_nested_too_deep_for_the_parser_is_invalid(check, source, message):
    assert message in failed(check("deep.py", source))["python_syntax"]


@pytest.mark.parametrize(
    "name", ["a.py", "a.tscn", "a.tres", "project.godot", "a.prefab", "a.meta", "a.gltf", "a.json", "a.cs"]
)
def test_every_text_format_must_be_utf8(check, name):
    report = check(name, b"%YAML 1.1\n[gd_scene format=3]\n\xff\xfe broken\n")
    assert report.status == "invalid"
    assert "Not UTF-8" in failed(report)["utf8"]


def test_a_python_script_without_extension_is_recognised_by_its_shebang(check):
    report = check("tool", "#!/usr/bin/env python3\nprint('hi')\n")
    assert report.format == "python"
    assert report.status == "valid"


def test_a_utf8_bom_is_fine(check):
    report = check("bom.py", "\ufeffx = 1\n")
    assert report.status == "valid", report.errors
    assert report.info["bom"] is True


def test_non_utf8_code_is_invalid(check):
    report = check("player.gd", "extends Node\n# café\n".encode("latin-1"))

    assert report.status == "invalid"
    assert "Not UTF-8: invalid byte at offset 18 (line 2)" in failed(report)["utf8"]


def test_code_with_a_nul_byte_is_invalid(check):
    report = check("player.gd", b"extends Node\n\x00\n")
    assert "NUL byte at offset 13 (line 2)" in failed(report)["utf8"]


def test_code_cut_in_the_middle_of_a_character_is_invalid(check):
    report = check("a.gd", "# é".encode()[:-1])
    assert "ends in the middle of a character" in failed(report)["utf8"]


def test_json_good_and_bad(check):
    good = check("level.json", '{"name": "Level 1", "enemies": [1, 2, 3]}')
    bad = check("level.json", '{"name": "Level 1",\n "enemies": [1, 2,]}')
    nan = check("level.json", '{"speed": NaN}')
    deep = check("deep.json", "[" * 100_000 + "]" * 100_000)

    assert good.status == "valid"
    assert good.info["top_level"] == "dict"
    assert "Invalid JSON at line 2, column" in failed(bad)["json_syntax"]
    assert "NaN is not valid JSON" in failed(nan)["json_syntax"]
    assert "nested too deeply" in failed(deep)["json_syntax"]


def test_json_may_also_be_an_asset(check):
    assert check("tilemap.json", "[]", category="asset").status == "valid"


def test_a_file_too_large_to_parse_fails_that_check(check):
    report = check("big.json", '{"a": "' + "x" * 100 + '"}', limits=Limits(max_parse_bytes=50))

    assert report.status == "invalid"
    assert "Too large to parse" in failed(report)["json_syntax"]


def test_the_utf8_scan_stops_at_the_scan_limit(check):
    report = check("big.gd", "# a comment\n" * 100, limits=Limits(max_scan_bytes=100))

    assert report.status == "valid"
    assert "line_count" not in report.info
    assert any(c.name == "utf8_scan" for c in report.checks)


# --- C-like sources ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("main.c", "c"),
        ("engine.hpp", "cpp"),
        ("lit.hlsl", "shader"),
    ],
)
def test_c_like_sources_are_utf8_and_brackets_balance(check, name, fmt):
    source = "\n".join(
        [
            "void main() {",
            "    // a } in a comment",
            '    char *s = "{ in a string";',
            "    /* ( */",
            "    if (x) { y[0] = 1; }",
            "}",
        ]
    )
    report = check(name, source)

    assert report.status == "valid", report.errors
    assert report.format == fmt
    assert report.category == "code"
    assert not warnings(report)


def test_unbalanced_brackets_are_a_warning_not_invalid(check):
    report = check("Player.cpp", "class Player {\n    void Jump() {\n    }\n")

    assert report.status == "valid"
    assert "'{' opened on line 1 is never closed" in warnings(report)["brackets"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("int main() { return 0; }}\n", "Line 1: '}' closes nothing."),
        ("int main() { return (0; }\n", "Line 1: '}' does not match '(' opened on line 1."),
    ],
)
def test_bracket_problems_are_located(check, source, message):
    assert warnings(check("main.c", source))["brackets"] == message


def test_csharp_verbatim_and_raw_strings_and_js_templates_do_not_count(check):
    csharp = 'class A {\n  string a = @"C:\\path\\{";\n  string b = """\n  } raw\n  """;\n}\n'
    js = "const s = `${a} {`;\nfunction f() { return s; }\n"
    cpp = 'auto s = R"x(})x";\nint main() { return 0; }\n'
    assert not warnings(check("A.cs", csharp))
    assert not warnings(check("a.js", js))
    assert not warnings(check("a.cpp", cpp))


def test_gdscript_and_lua_brackets(check):
    gd = 'extends Node\n# { comment\nvar d = {"a": [1, 2]}\nvar s = """\n}\n"""\n'
    lua = "-- { comment\nlocal t = { a = [[ } ]] }\n--[[ block ( ]]\n"
    assert check("player.gd", gd).format == "gdscript"
    assert not warnings(check("player.gd", gd))
    assert not warnings(check("main.lua", lua))
    assert "brackets" in warnings(check("main.lua", "local t = {\n"))


def test_a_large_source_skips_the_bracket_check(check):
    report = check("Big.cpp", "{" * 200, limits=Limits(max_parse_bytes=100))
    assert report.status == "valid"
    assert "not run" in next(c.detail for c in report.checks if c.name == "brackets")


# --- Godot ------------------------------------------------------------------------------------------------

SCENE = """[gd_scene load_steps=3 format=3 uid="uid://b6x1k3"]

[ext_resource type="Script" uid="uid://c1" path="res://player.gd" id="1_abc"]
[ext_resource type="Texture2D" path="res://icon.svg" id="2_def"]

[sub_resource type="RectangleShape2D" id="RectangleShape2D_x1"]
size = Vector2(32, 48)

[node name="Player" type="CharacterBody2D" groups=["players", "actors"]]
script = ExtResource("1_abc")
metadata/_edit_group_ = true

[node name="Sprite" type="Sprite2D" parent="."]
texture = ExtResource("2_def")

[node name="Shape" type="CollisionShape2D" parent="."]
shape = SubResource("RectangleShape2D_x1")

[node name="Label" type="Label" parent="."]
text = "A [bracketed] line
[node name=\\"fake\\"] inside a string"
theme_override_colors/font_color = Color(1, 1, 1, 1)

[node name="Anim" type="AnimationPlayer" parent="."]
libraries = {
"": SubResource("RectangleShape2D_x1")
}

[connection signal="ready" from="." to="." method="_on_ready"]
"""


def test_a_godot_scene_is_valid(check):
    report = check("player.tscn", SCENE)

    assert report.status == "valid", report.errors
    assert (report.format, report.category) == ("godot_scene", "asset")  # as the planner declares scenes
    assert report.info["format_version"] == 3
    assert report.info["load_steps"] == 3
    assert report.info["node_count"] == 5
    assert report.info["ext_resources"] == 2
    assert report.info["sub_resources"] == 1
    assert {"godot_header", "godot_syntax", "godot_nodes", "godot_references"} <= passed(report)
    assert not warnings(report)


def test_a_godot_3_scene_is_valid(check):
    scene = (
        '[gd_scene load_steps=2 format=2]\n\n[ext_resource path="res://a.gd" type="Script" id=1]\n\n'
        '[node name="Root" type="Node2D"]\nscript = ExtResource( 1 )\n\n'
        '[connection signal="x" from="." to="." method="y" binds= [ 1 ]]\n'
    )
    report = check("old.tscn", scene)
    assert report.status == "valid", report.errors
    assert report.info["format_version"] == 2


@pytest.mark.parametrize(
    ("scene", "check_name", "message"),
    [
        ('[node name="Root" type="Node"]\n', "godot_header", "must start with a [gd_scene"),
        ('[gd_scene load_steps=1]\n[node name="Root" type="Node"]\n', "godot_header", "needs format=<number>"),
        ("[gd_scene format=3\n", "godot_header", "malformed"),
        ('[gd_scene format=3]\n[node name="A" type="Node"]\n[node name="B" type="Node"]\n', "godot_nodes", "2 root"),
        ('[gd_scene format=3]\n[node name="A" type="Node" parent="."]\n', "godot_nodes", "no root node"),
        ('[gd_scene format=3]\n[node name="A" type="Node"]\nscript = ExtResource("9")\n', "godot_references", "9"),
        ('[gd_scene format=3]\n[node name="A" type="Node"\n', "godot_syntax", "malformed section header"),
        ('[gd_scene format=3]\n[node name="A" type="Node"]\ntext = "never closed\n', "godot_syntax", "never closed"),
        ('[gd_scene format=3]\n[node name="A" type="Node"]\npos = Vector2(1, 2))\n', "godot_syntax", "closing bracket"),
        ('[gd_scene format=3]\n[node name="A" type="Node"]\ndata = [1, 2\n', "godot_syntax", "bracket is never"),
        ('[gd_scene format=3]\n[node name="A" type="Node"]\nnot a statement\n', "godot_syntax", "key = value"),
        ('[gd_resource type="X" format=3]\n[resource]\n', "godot_header", "gd_scene"),
    ],
)
def test_broken_godot_scenes(check, scene, check_name, message):
    report = check("level.tscn", scene)

    assert report.status == "invalid"
    assert message in failed(report)[check_name]


def test_several_syntax_problems_are_counted(check):
    report = check("level.tscn", '[gd_scene format=3]\n[node name="A" type="Node"]\nbad one\nbad two\n')
    assert "(and 1 more)" in failed(report)["godot_syntax"]


def test_unknown_godot_sections_are_a_warning(check):
    report = check("level.tscn", '[gd_scene format=3]\n[node name="A" type="Node"]\n[mystery]\n')
    assert report.status == "valid"
    assert "mystery" in warnings(report)["godot_sections"]


def test_a_godot_resource(check):
    good = check(
        "theme.tres",
        '[gd_resource type="Theme" load_steps=2 format=3 uid="uid://x"]\n\n'
        '[sub_resource type="StyleBoxFlat" id="1"]\nbg_color = Color(0, 0, 0, 1)\n\n'
        '[resource]\ndefault_font_size = 14\nPanel/styles/panel = SubResource("1")\n',
    )
    no_body = check("empty.tres", '[gd_resource type="Resource" format=3]\n')
    scene_header = check("wrong.tres", '[gd_scene format=3]\n[node name="A" type="Node"]\n')

    assert good.status == "valid", good.errors
    assert good.info["type"] == "Theme"
    assert no_body.status == "valid"
    assert "godot_resource_section" in warnings(no_body)
    assert "must start with a [gd_resource" in failed(scene_header)["godot_header"]


def test_a_godot_scene_is_recognised_by_its_header_without_an_extension(check):
    assert check("scene", SCENE).format == "godot_scene"


def test_project_godot(check):
    good = check(
        "project.godot",
        "; Engine configuration file.\n\nconfig_version=5\n\n[application]\n\n"
        'config/name="Star Courier"\nrun/main_scene="res://main.tscn"\n'
        'config/features=PackedStringArray("4.3", "Forward Plus")\n\n'
        '[input]\n\nui_jump={\n"deadzone": 0.5,\n"events": []\n}\n',
    )
    missing = check("project.godot", '[application]\nconfig/name="X"\n')

    assert good.status == "valid", good.errors
    assert good.format == "godot_project"
    assert good.info == good.info | {"config_version": 5, "project_name": "Star Courier", "engine_version": "4.3"}
    assert "config_version" in failed(missing)["godot_config_version"]
    bare = check("project.godot", "config_version=4\n")
    assert bare.status == "valid"
    assert bare.info == bare.info | {"config_version": 4}
    assert "project_name" not in bare.info


# --- Unity ------------------------------------------------------------------------------------------------

PREFAB = """%YAML 1.1
%TAG !u! tag:unity3d.com,2011:
--- !u!1 &100100000
GameObject:
  m_Name: Player
  m_Component:
  - component: {fileID: 400000}
--- !u!4 &400000
Transform:
  m_LocalPosition: {x: 0, y: 0, z: 0}
--- !u!114 &-8679921383154817045 stripped
MonoBehaviour:
  m_Enabled: 1
"""


def test_a_unity_prefab_is_valid(check):
    report = check("Player.prefab", PREFAB)

    assert report.status == "valid", report.errors
    assert report.format == "unity_yaml"
    assert report.info["object_count"] == 3
    assert report.info["class_ids"] == {"1": 1, "4": 1, "114": 1}


def test_unity_yaml_is_recognised_without_a_known_extension(check):
    assert check("Scene", PREFAB).format == "unity_yaml"


@pytest.mark.parametrize(
    ("text", "check_name"),
    [
        (PREFAB.replace("--- !u!4 &400000", "--- !u!4 400000"), "unity_documents"),
        (PREFAB.replace("&400000", "&100100000"), "unity_documents"),
        ("%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n", "unity_documents"),
        ("%YAML 1.1\n--- !u!1 &1\nGameObject: {}\n", "unity_header"),
        ("m_Name: not unity\n", "unity_header"),
    ],
)
def test_broken_unity_yaml(check, text, check_name):
    report = check("Level.unity", text)
    assert report.status == "invalid"
    assert check_name in failed(report)


def test_binary_serialised_unity_assets_are_refused(check):
    report = check("Terrain.asset", b"\x00\x00\x00\x00\x00\x01\x02" + bytes(range(256)))
    assert "Force Text" in failed(report)["unity_header"]


def test_unity_meta_files(check):
    good = check("Player.cs.meta", "fileFormatVersion: 2\nguid: 0123456789abcdef0123456789abcdef\nMonoImporter:\n")
    bad = check("Player.cs.meta", "fileFormatVersion: 2\n")

    assert good.status == "valid"
    assert good.info["guid"] == "0123456789abcdef0123456789abcdef"
    assert "guid" in failed(bad)["unity_meta"]


def test_long_runs_of_blank_lines_stay_fast(check):
    started = time.perf_counter()
    report = check("project.godot", "config_version=5\n" + "\n" * 1_000_000 + "[application]\n")
    assert report.status == "valid"
    assert time.perf_counter() - started < 10
