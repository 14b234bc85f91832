"""Real files the demo's simulated agents hand in, made for a deliverable's path (None when it cannot)."""

import io
import math
import struct
import wave
from typing import Any


def _markdown(task: dict[str, Any], path: str) -> bytes:
    lines = [f"# {task['title']}", "", task.get("description") or "", "", "## Done when", ""]
    lines += [f"- [x] {criterion}" for criterion in task.get("acceptance_criteria") or []]
    lines += ["", f"_Written by a simulated agent of `gateway demo` for {task.get('code')} ({path})._", ""]
    return "\n".join(lines).encode()


def _gdscript(task: dict[str, Any], path: str) -> bytes:
    base = "CharacterBody2D" if "player" in path else ("Camera2D" if "camera" in path else "Node2D")
    return (
        f"extends {base}\n"
        f"## {task['title']} ({task.get('code')}), written by a simulated agent of `gateway demo`.\n\n"
        "@export var speed: float = 120.0\n"
        "var elapsed: float = 0.0\n\n\n"
        "func _ready() -> void:\n"
        "\tset_process(true)\n\n\n"
        "func _process(delta: float) -> void:\n"
        "\telapsed += delta\n"
        "\tif elapsed > 1.0:\n"
        "\t\telapsed = 0.0\n"
    ).encode()


def _png(task: dict[str, Any], path: str, size: tuple[int, int] = (64, 64)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", size, (24, 28, 48, 255))
    draw = ImageDraw.Draw(image)
    seed = sum(map(ord, str(task.get("code", "")) + path))
    for n in range(8):
        x, y = (seed * (n + 3)) % size[0], (seed * (n + 7)) % size[1]
        draw.rectangle([x, y, min(size[0] - 1, x + 8), min(size[1] - 1, y + 8)], fill=(255, 120 + 15 * n, 40, 255))
    draw.ellipse([size[0] // 3, size[1] // 3, size[0] // 3 + 16, size[1] // 3 + 16], fill=(120, 220, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _wav(task: dict[str, Any], path: str) -> bytes:
    rate, seconds = 22050, 0.25
    pitch = 440 + 40 * (sum(map(ord, path)) % 12)
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * n / rate) * (1 - n / (rate * seconds))))
        for n in range(int(rate * seconds))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def _godot_project(task: dict[str, Any], path: str) -> bytes:
    return (
        b"; Engine configuration file.\n"
        b"config_version=5\n\n"
        b"[application]\n\n"
        b'config/name="Star Courier"\n'
        b'run/main_scene="res://scenes/levels/test_level.tscn"\n\n'
        b"[input]\n\n"
        b'jump={"deadzone": 0.5, "events": []}\n'
    )


def _scene(task: dict[str, Any], path: str) -> bytes:
    name = path.rsplit("/", 1)[-1].split(".", maxsplit=1)[0].title().replace("_", "")
    return f'[gd_scene format=3]\n\n[node name="{name}" type="Node2D"]\n'.encode()


def _resource(task: dict[str, Any], path: str) -> bytes:
    return b'[gd_resource type="Resource" format=3]\n\n[resource]\nresource_name = "demo"\n'


def _presets(task: dict[str, Any], path: str) -> bytes:
    return b'[preset.0]\n\nname="Linux"\nplatform="Linux/X11"\nrunnable=true\nexport_path="build/star-courier.x86_64"\n'


MAKERS = {
    "md": _markdown,
    "gd": _gdscript,
    "png": _png,
    "wav": _wav,
    "godot": _godot_project,
    "tscn": _scene,
    "tres": _resource,
    "cfg": _presets,
}


def make(task: dict[str, Any], path: str) -> bytes | None:
    """A real file for this deliverable path, or None when the demo cannot make one (e.g. an .aseprite file)."""
    extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    maker = MAKERS.get(extension)
    return maker(task, path) if maker else None


def screenshot(task: dict[str, Any]) -> bytes:
    """A small real PNG 'screenshot' of the work on a task."""
    return _png(task, "screenshot", size=(160, 90))
