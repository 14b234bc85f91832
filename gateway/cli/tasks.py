"""`gateway tasks`: list, show, the current task with its briefing; claim, start, complete, block by hand."""

import getpass
import os
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
from gateway.cli._console import console

app = typer.Typer(help="Tasks of the accepted plan: see them, and work one by hand.", no_args_is_help=True)
TaskRef = Annotated[str, typer.Argument(help="The task: its code (T-004) or its id")]


def default_worker() -> str:
    """Who a person working from this terminal is, as the claim's holder."""
    name = os.environ.get("GATEWAY_AGENT_ID")
    if name:
        return name
    try:
        user = getpass.getuser()
    except Exception:  # no user database entry (containers)
        user = "someone"
    return f"cli-{user}"[:100]


As = Annotated[str | None, typer.Option("--as", help="Who holds the claim (default: $GATEWAY_AGENT_ID or cli-$USER)")]


def tasks_path(project: str) -> str:
    return f"/api/v1/projects/{project}/tasks"


def resolve(gw: Gateway, project: str, ref: str) -> dict[str, Any]:
    """A task by id, or by code in the accepted plan."""
    if ref.isdigit():
        return gw.get(f"{tasks_path(project)}/{int(ref)}")
    code = ref.upper()
    current = gw.get(f"/api/v1/projects/{project}")
    params = {"plan_id": current["active_plan_id"]} if current.get("active_plan_id") else {}
    for task in gw.pages(tasks_path(project), params=params):
        if task.get("code") == code:
            return task
    return usage(f"Project {project!r} has no task {ref!r} in its accepted plan (give a code like T-004 or an id).")


def task_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            t.get("code") or "",
            t["id"],
            t["title"],
            t["status"],
            t["priority"],
            ", ".join(t.get("dependencies") or []),
            t.get("claimed_by"),
        ]
        for t in items
    ]


TASK_COLUMNS = ["code", "id", "title", "status", "prio", "depends on", "claimed by"]


def show_task(task: dict[str, Any]) -> None:
    estimates = task.get("estimates") or {}
    rows = [
        ["code", task.get("code")],
        ["id", task["id"]],
        ["title", task["title"]],
        ["status", task["status"]],
        ["priority", task["priority"]],
        ["discipline", task.get("discipline")],
        ["estimate", f"{estimates.get('story_points')} pts, {estimates.get('time_hours')} h" if estimates else None],
        ["depends on", ", ".join(task.get("dependencies") or [])],
        ["claimed by", task.get("claimed_by")],
        ["summary", task.get("summary")],
        ["blocked", task.get("blocked_reason")],
    ]
    table(f"{task.get('code') or task['id']}: {task['title']}", ["field", "value"], [r for r in rows if r[1]])
    if task.get("description"):
        console.print(task["description"], highlight=False, markup=False)
    for criterion in task.get("acceptance_criteria") or []:
        console.print(f"  [ ] {criterion}", highlight=False, markup=False)
    for deliverable in task.get("deliverables") or []:
        need = "required" if deliverable.get("required", True) else "optional"
        console.print(f"  ⇒ {deliverable['name']} ({deliverable['category']}, {need})", highlight=False, markup=False)


@app.command("list")
@handled
def list_tasks(
    project: Project,
    status: Annotated[str | None, typer.Option(help="Only tasks in this status")] = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Tasks of every version, not only the accepted one")
    ] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List the tasks of the project's accepted plan, in plan order."""
    with connect(url, token) as gw:
        params: dict[str, Any] = {"status": status} if status else {}
        if not all_versions:
            current = gw.get(f"/api/v1/projects/{project}")
            if current.get("active_plan_id"):
                params["plan_id"] = current["active_plan_id"]
        items = list(gw.pages(tasks_path(project), params=params))
    if not all_versions:
        items.sort(key=lambda t: t["idx"])
    if as_json:
        emit_json(items)
    else:
        table(f"Tasks of {project}", TASK_COLUMNS, task_rows(items))


@app.command()
@handled
def show(ref: TaskRef, project: Project, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Show a task: what to do, its acceptance criteria and deliverables."""
    with connect(url, token) as gw:
        task = resolve(gw, project, ref)
    if as_json:
        emit_json(task)
    else:
        show_task(task)


@app.command()
@handled
def current(project: Project, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Show the project's current task with its briefing (dependencies' results, context, suggested tools)."""
    with connect(url, token) as gw:
        state = gw.get(f"/api/v1/projects/{project}")
        if not state.get("current_task_id"):
            if as_json:
                emit_json(None)
                return
            console.print(f"{project} has no current task ({state['status']}).")
            return
        briefing = gw.get(f"{tasks_path(project)}/{state['current_task_id']}/briefing")
        task = gw.get(f"{tasks_path(project)}/{state['current_task_id']}")
    if as_json:
        emit_json({"task": task, "briefing": briefing})
        return
    show_task(task)
    for dep in briefing.get("dependencies") or []:
        console.print(
            f"  ← {dep.get('code')} {dep.get('title')} ({dep.get('status')}): {dep.get('summary') or ''}",
            highlight=False,
            markup=False,
        )
    tools = [tool.get("name") for tool in briefing.get("tools") or []]
    if tools:
        console.print(f"Suggested MCP servers: {', '.join(str(t) for t in tools)}", highlight=False)


def _transition(
    project: str, ref: str, verb: str, body: dict[str, Any] | None, url: str, token: str | None, as_json: bool
) -> None:
    with connect(url, token) as gw:
        if ref == "next" and verb == "claim":
            task = gw.post(f"{tasks_path(project)}/next/claim", json=body)
            if task is None:
                console.print("No task is ready to be claimed.")
                if as_json:
                    emit_json(None)
                return
        else:
            task = gw.post(f"{tasks_path(project)}/{resolve(gw, project, ref)['id']}/{verb}", json=body)
    if as_json:
        emit_json(task)
    else:
        console.print(f"{task.get('code') or task['id']} {task['title']}: {task['status']}.", highlight=False)


@app.command()
@handled
def claim(
    ref: Annotated[str, typer.Argument(help="A task code or id, or `next` for the next ready task")],
    project: Project,
    worker: As = None,
    lease: Annotated[int, typer.Option(help="Lease in seconds", min=1, max=86400)] = 3600,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Claim a ready task (or renew your claim)."""
    _transition(
        project, ref, "claim", {"agent_id": worker or default_worker(), "lease_seconds": lease}, url, token, as_json
    )


@app.command()
@handled
def start(
    ref: TaskRef,
    project: Project,
    worker: As = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Start a task (claiming it if you had not)."""
    _transition(project, ref, "start", {"agent_id": worker or default_worker()}, url, token, as_json)


@app.command()
@handled
def complete(
    ref: TaskRef,
    project: Project,
    summary: Annotated[str, typer.Option("--summary", "-m", help="What the task delivered")],
    worker: As = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Complete a task with a summary (refused until every required deliverable has a valid artifact)."""
    _transition(
        project, ref, "complete", {"summary": summary, "agent_id": worker or default_worker()}, url, token, as_json
    )


@app.command()
@handled
def block(
    ref: TaskRef,
    project: Project,
    reason: Annotated[str, typer.Option("--reason", "-r", help="What blocks it")],
    worker: As = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Report what blocks a task."""
    _transition(project, ref, "block", {"reason": reason, "agent_id": worker or default_worker()}, url, token, as_json)
