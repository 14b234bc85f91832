"""Scripted model answers for the LLM planner's tests: valid plans built from a brief, and broken ones."""

import copy
from typing import Any

from gateway.app.planner import GameBrief, PlanningRequest, get_planner
from gateway.app.planner.llm import plan_as_llm_tasks

BRIEF = GameBrief(
    title="Hollow Lantern",
    pitch="A lantern-bearer explores a ruined castle; double jump and wall slide open new areas.",
    genre="metroidvania",
    engine="godot",
    platforms=["pc", "switch"],
    features=["double jump", "wall slide", "save rooms", "boss fights", "map screen"],
    scope="mvp",
)

MILESTONES = [
    {"key": "prototype", "title": "Prototype", "goal": "The castle's first room is playable"},
    {"key": "alpha", "title": "Alpha", "goal": "Every feature is in"},
    {"key": "release", "title": "Release", "goal": "Shipped on every platform"},
]


def valid_answer(brief: GameBrief = BRIEF, *, size: int | None = None) -> dict[str, Any]:
    """A plan that passes every rule for the brief: the template plan, one task per brief feature, milestones."""
    draft = get_planner("template").propose(PlanningRequest(brief=brief))
    tasks = plan_as_llm_tasks(draft)[: size or None]
    keep = {t["code"] for t in tasks}
    for task in tasks:
        task["dependencies"] = [d for d in task["dependencies"] if d in keep]
    number = max(int(t["code"][2:]) for t in tasks)
    last = tasks[-1]["code"]
    for feature in brief.features:
        if feature.startswith("no-"):
            continue
        number += 1
        name = feature.replace("-", " ")
        tasks.append(
            {
                "code": f"T-{number:03d}",
                "title": f"Build {name}",
                "description": f"Implement {name} in Godot 4 with a CharacterBody2D-based player and scenes (.tscn).",
                "discipline": "programming",
                "features": [feature],
                "acceptance_criteria": [f"{name} works in the test level"],
                "deliverables": [{"name": f"scripts/{feature}.gd", "category": "code"}],
                "story_points": 3,
                "time_hours": 8,
                "priority": 3,
                "dependencies": [last],
                "mcp_tools": [],
            }
        )
    names = {"windows": "Windows", "switch": "Nintendo Switch", "web": "the web", "linux": "Linux"}
    platforms = ", ".join(names.get(p, p) for p in brief.platforms)
    for i, task in enumerate(tasks):
        task["milestone"] = MILESTONES[min(i * len(MILESTONES) // len(tasks), len(MILESTONES) - 1)]["key"]
    return {
        "summary": f"Plan for {brief.title}: {len(tasks)} tasks for {platforms}.",
        "milestones": copy.deepcopy(MILESTONES),
        "tasks": tasks,
        "notes": [f"Targets {platforms}."],
    }


def with_cycle(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with its first two tasks depending on each other."""
    broken = copy.deepcopy(answer)
    first, second = broken["tasks"][0], broken["tasks"][1]
    first["dependencies"] = [second["code"]]
    second["dependencies"] = [first["code"]]
    return broken


def with_unknown_tool(answer: dict[str, Any], tool: str = "photoshop.magic_wand") -> dict[str, Any]:
    """The answer with a tool that is not in the catalogue."""
    broken = copy.deepcopy(answer)
    broken["tasks"][0]["mcp_tools"] = [tool]
    return broken


def without_feature(answer: dict[str, Any], feature: str) -> dict[str, Any]:
    """The answer without every task that says it delivers the feature (and without references to them)."""
    from gateway.app.planner.library import normalise_text

    words = set(normalise_text(feature).split())
    broken = copy.deepcopy(answer)
    gone = {
        t["code"]
        for t in broken["tasks"]
        if feature in t.get("features", [])
        or words <= set(normalise_text(" ".join([t["title"], t["description"], *t["acceptance_criteria"]])).split())
        or words <= set(normalise_text(" ".join(d["name"] for d in t["deliverables"])).split())
    }
    broken["tasks"] = [t for t in broken["tasks"] if t["code"] not in gone]
    for task in broken["tasks"]:
        task["dependencies"] = [d for d in task["dependencies"] if d not in gone]
    return broken
