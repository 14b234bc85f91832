"""Code validation with real grammars: grammar load time and parse throughput per language.

For each grammar, a valid source of about --kib KiB is generated (a realistic function repeated) and run
through `gateway.app.validation.validate`, as an upload is. The first run of a process pays for loading the
grammar (GDScript: Lark builds LALR tables, or reads them from its cache in the temporary directory; the
tree-sitter languages load at once); the next --runs are timed for throughput.

    .venv/bin/python bench/bench_parsers.py [--kib 16] [--runs 5]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gateway.app.validation import Limits, validate

GDSCRIPT_4 = """
func step_{i}(delta: float) -> void:
\tvar direction := Input.get_axis("left", "right")
\tif direction != 0.0:
\t\tvelocity.x = move_toward(velocity.x, direction * speed, accel * delta)
\telse:
\t\tvelocity.x = move_toward(velocity.x, 0.0, friction * delta)
\tawait get_tree().process_frame
"""
GDSCRIPT_3 = """
func step_{i}(delta):
\tvar direction = Input.get_action_strength("right") - Input.get_action_strength("left")
\tif direction != 0.0:
\t\tvelocity.x = move_toward(velocity.x, direction * speed, accel * delta)
\telse:
\t\tvelocity.x = move_toward(velocity.x, 0.0, friction * delta)
\tyield(get_tree(), "idle_frame")
"""
CSHARP = """
    public void Step{i}(float delta) {{
        var direction = Input.GetAxis("left", "right");
        velocity.X = direction != 0 ? Mathf.MoveToward(velocity.X, direction * speed, accel * delta) : 0f;
    }}
"""
TYPESCRIPT = """
export function step{i}(body: Body, delta: number): void {{
  const direction: number = (keys.right ? 1 : 0) - (keys.left ? 1 : 0);
  body.velocity.x = direction !== 0 ? body.velocity.x + direction * accel * delta : 0;
}}
"""
GLSL = """
float wave{i}(vec2 uv, float t) {{
    return sin(uv.x * 10.0 + t) * cos(uv.y * 10.0 - t) * 0.5 + 0.5;
}}
"""

CASES = [
    ("GDScript (Godot 4)", "player.gd", "extends CharacterBody2D\n", GDSCRIPT_4, "", "Godot 4"),
    ("GDScript (Godot 3)", "player.gd", "extends KinematicBody2D\n", GDSCRIPT_3, "", "Godot 3"),
    ("C#", "Player.cs", "public partial class Player {\n", CSHARP, "}\n", None),
    ("TypeScript", "player.ts", "", TYPESCRIPT, "", None),
    ("Godot shader", "water.gdshader", "shader_type canvas_item;\n", GLSL, "void fragment() {}\n", None),
]


def source(head: str, body: str, tail: str, kib: int) -> str:
    parts = [head]
    i = 0
    while sum(map(len, parts)) < kib * 1024:
        parts.append(body.format(i=i))
        i += 1
    return "".join([*parts, tail])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kib", type=int, default=16, help="size of each generated source")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after the first")
    args = parser.parse_args()
    limits = Limits(max_parse_seconds=600)
    print(f"{'grammar':<22}{'KiB':>6}{'first run s':>13}{'median s':>10}{'KiB/s':>9}  status")
    with tempfile.TemporaryDirectory() as folder:
        for label, name, head, body, tail, engine in CASES:
            path = Path(folder) / name
            path.write_text(source(head, body, tail, args.kib))
            started = time.perf_counter()
            report = validate(path, name=name, limits=limits, engine=engine)
            first = time.perf_counter() - started
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                validate(path, name=name, limits=limits, engine=engine)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            size = path.stat().st_size / 1024
            print(f"{label:<22}{size:>6.0f}{first:>13.2f}{median:>10.3f}{size / median:>9.0f}  {report.status}")


if __name__ == "__main__":
    main()
