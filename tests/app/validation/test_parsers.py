"""Real grammars: GDScript (Godot 3 and 4), C#, TypeScript/TSX, JavaScript, GLSL and Godot shaders, YAML, TOML."""

import pytest

from gateway.app.validation import Limits
from gateway.app.validation.parsers import godot_shader_as_glsl, godot_version_in, godot_version_of
from tests.app.validation.helpers import failed

GODOT_4 = """extends CharacterBody2D

@export var speed: float = 120.0
@onready var sprite := $Sprite2D

func _physics_process(delta: float) -> void:
\tvar direction := Input.get_axis("left", "right")
\tvelocity.x = direction * speed
\tmove_and_slide()
\tawait get_tree().process_frame
"""

GODOT_3 = """extends KinematicBody2D

export var speed = 120.0
onready var sprite = $Sprite

func _physics_process(delta):
\tvar velocity = Vector2(Input.get_action_strength("right") - Input.get_action_strength("left"), 0)
\tmove_and_slide(velocity * speed)
\tyield(get_tree(), "idle_frame")
"""

NEUTRAL = "extends Node\n\nvar count = 0\n\nfunc _ready():\n\tcount += 1\n"


def test_a_gdscript_syntax_error_is_invalid_with_line_and_column(check):
    report = check("player.gd", "func _ready(:\n\tpass\n")

    assert report.status == "invalid"
    message = failed(report)["gdscript_syntax"]
    assert message.startswith("GDScript syntax error at line 1, column 13: unexpected ':'")
    assert "expected ')'" in message
    assert report.info["syntax_error"] == {"line": 1, "column": 13}
    assert report.info["grammar"].startswith("GDScript (Godot 4, gdtoolkit 4.")


def test_a_gdscript_indentation_error_is_invalid(check):
    report = check("player.gd", "func _ready():\n\t\tpass\n\tpass\n")
    assert report.status == "invalid"
    assert "gdscript_syntax" in failed(report)


@pytest.mark.parametrize(
    ("source", "engine", "version", "source_of_version"),
    [
        (GODOT_4, None, "4", "script syntax"),
        (GODOT_3, None, "3", "script syntax"),
        (NEUTRAL, None, "4", "default"),
        (NEUTRAL, "Godot 3.5", "3", "project"),
        (GODOT_4, "godot-4", "4", "project"),
        (GODOT_3, "godot 3", "3", "project"),
    ],
)
def test_gdscript_is_parsed_with_the_grammar_of_its_godot(check, source, engine, version, source_of_version):
    report = check("player.gd", source, engine=engine)

    assert report.status == "valid", report.errors
    assert report.info["godot_version"] == version
    assert report.info["godot_version_from"] == source_of_version
    assert f"Godot {version}" in report.info["grammar"]


def test_a_godot_3_script_in_a_godot_4_project_is_invalid_and_says_why(check):
    report = check("player.gd", GODOT_3, engine="Godot 4")

    message = failed(report)["gdscript_syntax"]
    assert message.startswith("GDScript syntax error at line 3, column 1: unexpected 'export'")
    assert "the script is valid Godot 3 GDScript, but the project uses Godot 4" in message


def test_a_godot_4_script_in_a_godot_3_project_is_invalid(check):
    message = failed(check("player.gd", GODOT_4, engine="Godot 3"))["gdscript_syntax"]
    assert message.startswith("GDScript syntax error at line 3, column 1: unexpected '@'")
    assert "valid Godot 4 GDScript, but the project uses Godot 3" in message


def test_godot_versions_from_names_and_syntax():
    assert [godot_version_of(e) for e in ("Godot 4", "godot-3.5", "Godot", "unity", None, "godot 2")] == [
        "4",
        "3",
        None,
        None,
        None,
        None,
    ]
    assert godot_version_in(GODOT_4) == "4"
    assert godot_version_in(GODOT_3) == "3"
    assert godot_version_in(NEUTRAL) is None
    assert godot_version_in(GODOT_3 + GODOT_4) is None


@pytest.mark.parametrize(
    ("name", "source", "check_name", "where", "message"),
    [
        ("Player.cs", "class A { void B( { int x = ; } }", "csharp_syntax", "line 1, column 19", "C# syntax error"),
        ("game.ts", "function f(: number { return 1 }", "typescript_syntax", "line 1, column 12", "TypeScript"),
        ("App.tsx", "const a = <div>{x</div>;\n", "typescript_syntax", "line 1", "TypeScript"),
        ("game.js", "let x = ;\n", "javascript_syntax", "line 1, column 7", "JavaScript"),
        ("main.glsl", "void main() {\n  vec4 c = ;\n}\n", "shader_syntax", "line 2, column 11", "GLSL"),
    ],
)
def test_syntax_errors_are_invalid_with_line_and_column(check, name, source, check_name, where, message):
    report = check(name, source)

    assert report.status == "invalid"
    assert failed(report)[check_name].startswith(f"{message}")
    assert f"at {where}" in failed(report)[check_name]
    assert "(grammar: " in failed(report)[check_name]


def test_the_csharp_case_of_the_issue_is_located(check):
    report = check("B.cs", "class A {\n    void B( { int x = ; }\n}\n")
    assert report.info["syntax_error"]["line"] == 2
    assert report.info["grammar"].startswith("C# (tree-sitter-c-sharp ")


@pytest.mark.parametrize(
    ("name", "source", "grammar"),
    [
        (
            "Player.cs",
            "using Godot;\npublic partial class Player : Node2D {\n  public override void _Ready() { }\n}\n",
            "C#",
        ),
        (
            "Boot.ts",
            "export class Boot extends Phaser.Scene {\n  create(): void { this.add.text(0, 0, `hi`); }\n}\n",
            "TypeScript",
        ),
        ("Hud.tsx", "export const Hud = ({ hp }: { hp: number }) => <div className='hp'>{hp}</div>;\n", "TSX"),
        ("main.mjs", "import x from './x.js';\nexport default async () => { await x(); };\n", "JavaScript"),
        ("menu.jsx", "const m = <ul>{items.map((i) => <li key={i}>{i}</li>)}</ul>;\n", "JavaScript"),
        (
            "lit.frag",
            "#version 330 core\nout vec4 color;\nuniform float t;\nvoid main() { color = vec4(t); }\n",
            "GLSL",
        ),
    ],
)
def test_valid_sources_parse(check, name, source, grammar):
    report = check(name, source)
    assert report.status == "valid", report.errors
    assert report.info["grammar"].startswith(grammar)


GODOT_SHADER = """shader_type canvas_item;
render_mode unshaded, blend_add;

group_uniforms water;
uniform float speed : hint_range(0.0, 4.0) = 1.0;
uniform sampler2D noise : source_color, filter_nearest, repeat_enable;
instance uniform vec4 tint : source_color = vec4(1.0);
group_uniforms;

varying vec2 world;

void vertex() {
\tworld = VERTEX;
}

void fragment() {
\tvec4 n = texture(noise, UV + TIME * speed);
\tCOLOR = n * tint;
}
"""


def test_a_godot_shader_parses_as_glsl_once_its_godot_syntax_is_blanked(check):
    report = check("water.gdshader", GODOT_SHADER)
    assert report.status == "valid", report.errors
    assert report.info["grammar"].startswith("Godot shading language, as GLSL")
    blanked = godot_shader_as_glsl(GODOT_SHADER)
    assert len(blanked) == len(GODOT_SHADER)
    assert blanked.count("\n") == GODOT_SHADER.count("\n")
    assert "hint_range" not in blanked
    assert "uniform float speed" in blanked


def test_a_broken_godot_shader_is_located_on_its_own_lines(check):
    broken = GODOT_SHADER.replace("COLOR = n * tint;", "COLOR = n * ;")
    message = failed(check("water.gdshader", broken))["shader_syntax"]
    assert message.startswith("Godot shader syntax error at line 18,")


def test_a_godot_3_shader_file_is_parsed_and_shaderlab_is_not(check):
    assert check("old.shader", "shader_type spatial;\nvoid fragment() { ALBEDO = vec3(1.0; }\n").status == "invalid"
    shaderlab = check("Unlit.shader", 'Shader "Unlit" { SubShader { Pass { } } }\n')
    assert shaderlab.status == "valid"
    assert shaderlab.info["grammar"].startswith("none (no HLSL, ShaderLab or WGSL grammar")


@pytest.mark.parametrize(
    ("name", "source", "check_name", "message"),
    [
        ("ci.yml", "on: push\njobs: [a, b\n", "yaml_syntax", "Invalid YAML at line 3, column 1"),
        (
            "ci.yml",
            "a: 1\n---\nb: *nowhere\n",
            "yaml_syntax",
            "Invalid YAML at line 3, column 4: found undefined alias",
        ),
        ("game.toml", "a = 1\na = 2\n", "toml_syntax", "Invalid TOML at line 2, column 6"),
        ("game.toml", "a = [1,\n", "toml_syntax", "Invalid TOML at line 2, column 1 (the end)"),
    ],
)
def test_yaml_and_toml_are_parsed(check, name, source, check_name, message):
    assert failed(check(name, source))[check_name].startswith(message)


def test_valid_yaml_and_toml(check):
    yaml_report = check("ci.yml", "on: push\njobs:\n  build: {runs-on: ubuntu-latest}\n---\nsecond: true\n")
    assert yaml_report.status == "valid"
    assert yaml_report.info["documents"] == 2
    assert check("game.toml", '[game]\nname = "Star"\n').status == "valid"


@pytest.mark.parametrize(
    ("name", "source", "check_name"),
    [
        ("Big.cs", "class A { int x = 1; }\n" * 2000, "csharp_syntax"),
        ("big.gd", "var x = 1\n" * 2000, "gdscript_syntax"),
    ],
)
def test_a_parse_that_runs_out_of_time_is_invalid(check, name, source, check_name):
    report = check(name, source, limits=Limits(max_parse_seconds=1e-9))
    assert report.status == "invalid"
    assert "parser did not finish within 1e-09 s" in failed(report)[check_name]


@pytest.mark.parametrize(("name", "check_name"), [("big.gd", "gdscript_syntax"), ("Big.cs", "csharp_syntax")])
def test_a_source_too_large_to_parse_is_invalid(check, name, check_name):
    report = check(name, "x" * 200, limits=Limits(max_parse_bytes=100))
    assert failed(report)[check_name] == "Too large to parse: 200 bytes, the limit is 100 bytes."
