"""A plan version as a document a team reads (Markdown) or a spreadsheet (CSV)."""

import csv
import io
from typing import Any

CSV_COLUMNS = [
    "code", "idx", "milestone", "title", "status", "discipline", "priority", "story_points", "time_hours",
    "dependencies", "deliverables", "acceptance_criteria", "description",
]  # fmt: skip


def _estimate(task: dict[str, Any]) -> tuple[Any, Any]:
    estimates = task.get("estimates") or {}
    return estimates.get("story_points"), estimates.get("time_hours")


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "—"


def milestone_groups(plan: dict[str, Any], tasks: list[dict[str, Any]]) -> list[tuple[dict[str, Any] | None, list]]:
    """Tasks grouped by the plan's milestones, in order (one group without a milestone when there are none)."""
    milestones = plan.get("milestones") or []
    keys = {m["key"] for m in milestones}
    groups: list[tuple[dict[str, Any] | None, list]] = [
        (m, [t for t in tasks if t.get("milestone") == m["key"]]) for m in milestones
    ]
    loose = [t for t in tasks if t.get("milestone") not in keys]
    if loose or not groups:
        groups.append((None, loose))
    return [(m, members) for m, members in groups if members or m is not None]


def markdown(
    *, project: dict[str, Any], plan: dict[str, Any], tasks: list[dict[str, Any]], context: dict[str, Any] | None
) -> str:
    """The plan as Markdown: the game, an overview table, then each milestone's tasks in full."""
    game = (context or {}).get("game") or {}
    brief = project.get("brief") or {}
    title = game.get("title") or brief.get("title") or project["name"]
    points = sum((_estimate(t)[0] or 0) for t in tasks)
    hours = sum((_estimate(t)[1] or 0) for t in tasks)
    lines = [
        f"# {title} — plan version {plan['version']}",
        "",
        f"Project `{project['id']}` · version {plan['version']} ({plan['status']}) · {len(tasks)} tasks · "
        f"{_number(points)} story points · {_number(hours)} hours",
        "",
        "## The game",
        "",
    ]
    pitch = game.get("pitch") or brief.get("pitch")
    if pitch:
        lines += [pitch, ""]
    facts = [
        ("Genre", game.get("genre") or brief.get("genre")),
        ("Engine", game.get("engine") or brief.get("engine")),
        ("Platforms", ", ".join(game.get("platforms") or brief.get("platforms") or [])),
        ("Art style", game.get("art_style") or brief.get("art_style")),
        ("Audience", game.get("audience") or brief.get("audience")),
        ("Pillars", "; ".join(game.get("pillars") or brief.get("pillars") or [])),
    ]
    lines += [f"- **{name}:** {value}" for name, value in facts if value]
    lines += ["", "## The plan", ""]
    if plan.get("summary"):
        lines += [plan["summary"], ""]
    groups = milestone_groups(plan, tasks)
    titles = {m["key"]: m["title"] for m in plan.get("milestones") or []}
    if titles:
        lines += [
            "| Code | Task | Milestone | Priority | Points | Hours | Depends on |",
            "|---|---|---|---|---|---|---|",
        ]
    else:
        lines += ["| Code | Task | Priority | Points | Hours | Depends on |", "|---|---|---|---|---|---|"]
    for task in tasks:
        story_points, time_hours = _estimate(task)
        milestone_cell = f" {_cell(titles.get(task.get('milestone'), ''))} |" if titles else ""
        lines.append(
            f"| {task['code']} | {_cell(task['title'])} |{milestone_cell} "
            f"{task['priority']} | {_number(story_points)} | {_number(time_hours)} | "
            f"{', '.join(task.get('dependencies') or []) or '—'} |"
        )
    lines.append("")
    for milestone, members in groups:
        if milestone is not None:
            lines += [f"## {milestone['title']}", ""]
            if milestone.get("goal"):
                lines += [f"*Goal:* {milestone['goal']}", ""]
        else:
            lines += ["## Tasks" if len(groups) == 1 else "## Other tasks", ""]
        for task in members:
            story_points, time_hours = _estimate(task)
            lines += [
                f"### {task['code']} · {task['title']}",
                "",
                f"*{task.get('discipline') or 'task'}* · priority {task['priority']} · "
                f"{_number(story_points)} points · {_number(time_hours)} h · status {task.get('status', 'pending')}"
                + (f" · depends on {', '.join(task['dependencies'])}" if task.get("dependencies") else ""),
                "",
                task.get("description") or "",
                "",
            ]
            if task.get("acceptance_criteria"):
                lines += ["**Done when**", ""] + [f"- [ ] {c}" for c in task["acceptance_criteria"]] + [""]
            if task.get("deliverables"):
                lines += ["**Deliverables**", ""]
                for d in task["deliverables"]:
                    optional = "" if d.get("required", True) else ", optional"
                    about = f" — {d['description']}" if d.get("description") else ""
                    lines.append(f"- `{d['name']}` ({d['category']}{optional}){about}")
                lines.append("")
    notes = (plan.get("details") or {}).get("notes") or []
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(lines).rstrip() + "\n"


def csv_text(*, plan: dict[str, Any], tasks: list[dict[str, Any]]) -> str:
    """The plan as CSV: one row per task, lists joined with '; '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    titles = {m["key"]: m["title"] for m in plan.get("milestones") or []}
    for task in tasks:
        story_points, time_hours = _estimate(task)
        writer.writerow(
            [
                task["code"],
                task["idx"],
                titles.get(task.get("milestone"), task.get("milestone") or ""),
                task["title"],
                task.get("status", "pending"),
                task.get("discipline") or "",
                task["priority"],
                story_points if story_points is not None else "",
                time_hours if time_hours is not None else "",
                "; ".join(task.get("dependencies") or []),
                "; ".join(d["name"] for d in task.get("deliverables") or []),
                "; ".join(task.get("acceptance_criteria") or []),
                task.get("description") or "",
            ]
        )
    return buffer.getvalue()
