"""`gateway plans`: propose, revise, show, diff, accept, reject; import from other tools and export."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli._client import (
    DEFAULT_URL,
    AsJson,
    Gateway,
    Project,
    Token,
    Url,
    connect,
    emit_json,
    handled,
    table,
    usage,
)
from gateway.cli._console import Text, console

app = typer.Typer(help="Plan versions and consensus: propose, revise, accept; import and export.", no_args_is_help=True)
Version = Annotated[int, typer.Argument(help="The plan version", min=1)]


def plan_path(project: str, version: int | str | None = None) -> str:
    base = f"/api/v1/projects/{project}/plans"
    return base if version is None else f"{base}/{version}"


def finish_planning(gw: Gateway, project: str, answer: dict[str, Any], *, quiet: bool) -> dict[str, Any]:
    """A proposal answered with a plan (201) or a planning job (202): wait for the job, then read its version."""
    if "tasks" in answer:  # 201: the plan version itself
        return answer
    job = gw.wait_for_job(answer, show=not quiet)
    return gw.get(plan_path(project, job["plan_version"]))


def milestone_of(task: dict[str, Any]) -> str | None:
    return task.get("milestone")


def show_plan(plan: dict[str, Any]) -> None:
    """A version as tables: one per milestone when the plan has milestones, otherwise one."""
    details = plan.get("details") or {}
    console.print(
        f"Version {plan['version']} · {plan['status']} · by {plan['created_by']}"
        f" · {plan.get('task_count', len(plan.get('tasks', [])))} tasks"
        + (f" · template {details['template']}" if details.get("template") else ""),
        highlight=False,
    )
    if plan.get("summary"):
        console.print(plan["summary"], highlight=False, markup=False)
    columns = ["code", "title", "status", "prio", "pts", "hours", "depends on", "deliverables"]

    def row(task: dict[str, Any]) -> list[Any]:
        estimates = task.get("estimates") or {}
        return [
            task.get("code") or task["id"],
            task["title"],
            task["status"],
            task["priority"],
            estimates.get("story_points"),
            estimates.get("time_hours"),
            ", ".join(task.get("dependencies") or []),
            ", ".join(d["name"] for d in task.get("deliverables") or []),
        ]

    tasks = plan.get("tasks") or []
    milestones = plan.get("milestones") or []
    if milestones:
        for milestone in milestones:
            members = [t for t in tasks if milestone_of(t) == milestone["key"]]
            goal = f" — {milestone['goal']}" if milestone.get("goal") else ""
            table(f"{milestone['title']}{goal}", columns, [row(t) for t in members])
        loose = [t for t in tasks if milestone_of(t) not in {m["key"] for m in milestones}]
        if loose:
            table("Without a milestone", columns, [row(t) for t in loose])
    else:
        table(None, columns, [row(t) for t in tasks])
    for note in details.get("notes") or []:
        console.print(Text.assemble(("note: ", "dim"), note))


def emit_plan(plan: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(plan)
        return
    console.print(f"{verb} version {plan['version']} of {plan['project_id']} ({plan['status']}).", highlight=False)
    show_plan(plan)


@app.command("list")
@handled
def list_plans(project: Project, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """List every version of a project's plan, newest first."""
    with connect(url, token) as gw:
        items = gw.get(plan_path(project))["items"]
    if as_json:
        emit_json(items)
        return
    rows = [
        [
            p["version"],
            p["status"],
            p["created_by"],
            (p.get("details") or {}).get("planner"),
            p["task_count"],
            p.get("based_on_version"),
            p.get("decision_reason"),
        ]
        for p in items
    ]
    table(f"Plan versions of {project}", ["version", "status", "by", "planner", "tasks", "based on", "reason"], rows)


@app.command()
@handled
def propose(
    project: Project,
    planner: Annotated[str | None, typer.Option(help="Which planner (default: the gateway's)")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Ask the AI for a plan from the project's brief (a planning job shows a spinner until it is done)."""
    with connect(url, token) as gw:
        answer = gw.post(plan_path(project), json={"planner": planner} if planner else None)
        plan = finish_planning(gw, project, answer, quiet=as_json)
    emit_plan(plan, as_json, "Proposed")


@app.command()
@handled
def revise(
    version: Version,
    project: Project,
    feedback: Annotated[str, typer.Option("--feedback", "-m", help="What should change, in your words")],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Give feedback on a version; the AI answers with the next version."""
    with connect(url, token) as gw:
        answer = gw.post(f"{plan_path(project, version)}/revisions", json={"text": feedback})
        plan = finish_planning(gw, project, answer, quiet=as_json)
    emit_plan(plan, as_json, "Revised into")


@app.command()
@handled
def show(
    project: Project,
    version: Annotated[
        int | None, typer.Argument(help="The version (default: the accepted one, else the newest)")
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show a plan version: its tasks as a table, grouped by milestone when it has milestones."""
    with connect(url, token) as gw:
        if version is None:
            versions = gw.get(plan_path(project))["items"]
            if not versions:
                usage(f"Project {project!r} has no plan yet: run `gateway plans propose -p {project}`.")
            chosen = next((p for p in versions if p["status"] == "accepted"), versions[0])
            version = chosen["version"]
        plan = gw.get(plan_path(project, version))
    if as_json:
        emit_json(plan)
    else:
        show_plan(plan)


@app.command()
@handled
def diff(
    from_version: Version,
    to_version: Version,
    project: Project,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Diff two versions task by task: added, removed, changed, moved."""
    with connect(url, token) as gw:
        result = gw.get(f"{plan_path(project)}/diff", params={"from": from_version, "to": to_version})
    if as_json:
        emit_json(result)
        return
    rows: list[list[Any]] = []
    rows += [["+ added", t["code"], t["title"], ""] for t in result["added"]]
    rows += [["- removed", t["code"], t["title"], ""] for t in result["removed"]]
    for change in result["changed"]:
        for name, values in change["fields"].items():
            rows.append(
                [
                    "~ changed",
                    change["code"],
                    change["title"],
                    f"{name}: {_short(values['old'])} → {_short(values['new'])}",
                ]
            )
    rows += [["↕ moved", t["code"], t["title"], f"position {t['from_idx']} → {t['to_idx']}"] for t in result["moved"]]
    if not rows:
        console.print(f"Versions {from_version} and {to_version} have the same tasks.")
        return
    table(f"Version {from_version} → {to_version}", ["", "code", "title", "what"], rows)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


@app.command()
@handled
def accept(
    version: Version, project: Project, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False
) -> None:
    """Accept a version: it becomes the active plan and the project goes active."""
    with connect(url, token) as gw:
        plan = gw.post(f"{plan_path(project, version)}/accept")
    if as_json:
        emit_json(plan)
    else:
        console.print(f"Accepted version {plan['version']} of {project}: {plan['task_count']} tasks.")


@app.command()
@handled
def reject(
    version: Version,
    project: Project,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept with the version)")],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Reject a proposed version, with a reason."""
    with connect(url, token) as gw:
        plan = gw.post(f"{plan_path(project, version)}/reject", json={"reason": reason})
    if as_json:
        emit_json(plan)
    else:
        console.print(f"Rejected version {plan['version']} of {project}.")


def read_import_files(paths: list[Path]) -> list[dict[str, str]]:
    """The files to send: each file, or every Markdown file of a directory (Backlog.md's backlog/tasks)."""
    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.md") if p.is_file())
            if not found:
                usage(f"{path} holds no .md task files.")
            files += [{"name": p.name, "content": _read_text(p)} for p in found]
        else:
            files.append({"name": path.name, "content": _read_text(path)})
    return files


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        usage(f"Cannot read {path}: {exc}")


@app.command("import")
@handled
def import_plan(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="tasks.json, tasks.md, an exported plan, or Backlog.md task files / their folder", exists=True
        ),
    ],
    project: Project,
    format: Annotated[
        str, typer.Option("--format", "-f", help="auto, taskmaster, backlog, speckit or gateway")
    ] = "auto",
    tag: Annotated[str | None, typer.Option(help="Task Master: only this tag")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Import a plan from Task Master, Backlog.md or spec-kit (or a gateway export) as a proposed version."""
    body: dict[str, Any] = {"format": format, "files": read_import_files(paths)}
    if tag:
        body["tag"] = tag
    with connect(url, token) as gw:
        result = gw.post(f"{plan_path(project)}/imports", json=body)
    if as_json:
        emit_json(result)
        return
    plan = result["plan"]
    if result["created"]:
        console.print(
            f"Imported {len(body['files'])} file(s) as {result['format']}: version {plan['version']} is proposed "
            f"({plan['task_count']} tasks, {len(result['progress'])} with progress carried).",
            highlight=False,
        )
    else:
        console.print(f"Already imported: version {plan['version']} came from these files; nothing changed.")
    for line in result["unmapped"]:
        console.print(Text.assemble(("not mapped: ", "yellow"), line))
    if result["created"]:
        console.print(
            f"Review it: gateway plans show {plan['version']} -p {project} · "
            f"accept it: gateway plans accept {plan['version']} -p {project}"
        )


@app.command("export")
@handled
def export_plan(
    version: Version,
    project: Project,
    format: Annotated[str, typer.Option("--format", "-f", help="markdown, csv or json")] = "markdown",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout)")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """Export a version as Markdown (a document), CSV (a spreadsheet) or JSON (re-importable)."""
    if format not in {"markdown", "md", "csv", "json"}:
        usage(f"Unknown export format {format!r}: markdown, csv or json.")
    with connect(url, token) as gw:
        response = gw.request(
            "GET",
            f"{plan_path(project, version)}/export",
            params={"format": "markdown" if format == "md" else format},
            expect_json=False,
        )
    if output is None:
        import sys

        sys.stdout.write(response.text)
        sys.stdout.flush()
    else:
        output.write_text(response.text, encoding="utf-8")
        console.print(f"Wrote {output}")
