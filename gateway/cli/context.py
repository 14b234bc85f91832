"""`gateway context`: show the project's (or a task's) context, and edit it in $EDITOR."""

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli._client import DEFAULT_URL, AsJson, Project, Refused, Token, Url, connect, emit_json, handled, usage
from gateway.cli._console import Text, console
from gateway.cli.tasks import resolve

app = typer.Typer(help="The project's memory (global context) and each task's context.", no_args_is_help=True)
TaskOpt = Annotated[
    str | None, typer.Option("--task", "-t", help="A task's context (code or id) instead of the project's")
]


def context_path(gw: Any, project: str, task: str | None) -> str:
    if task is None:
        return f"/api/v1/projects/{project}/context"
    return f"/api/v1/projects/{project}/tasks/{resolve(gw, project, task)['id']}/context"


@app.command()
@handled
def show(
    project: Project,
    task: TaskOpt = None,
    version: Annotated[int | None, typer.Option(help="An older version", min=1)] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show the active context (or one version of it)."""
    with connect(url, token) as gw:
        path = context_path(gw, project, task)
        row = gw.get(f"{path}/versions/{version}" if version else path)
    if as_json:
        emit_json(row)
        return
    console.print(
        Text(f"Context version {row['version']} · {row.get('source')} · by {row.get('created_by')}", style="bold")
    )
    from rich.syntax import Syntax

    from gateway.cli._client import out

    out().print(Syntax(json.dumps(row["content"], indent=2, ensure_ascii=False), "json", word_wrap=True))


def editor_command() -> list[str]:
    """$VISUAL, $EDITOR, or a plain editor that exists."""
    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if chosen:
        return shlex.split(chosen)
    for candidate in ("sensible-editor", "nano", "vi"):
        from shutil import which

        if which(candidate):
            return [candidate]
    return usage("Set $EDITOR to the editor to use.")


@app.command()
@handled
def edit(
    project: Project,
    task: TaskOpt = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Edit the context in $EDITOR; saved as a new version only if nobody changed it meanwhile (If-Match)."""
    with connect(url, token) as gw:
        path = context_path(gw, project, task)
        row = gw.get(path)
        based_on = row["version"]
        original = json.dumps(row["content"], indent=2, ensure_ascii=False) + "\n"
        with tempfile.NamedTemporaryFile(
            "w", suffix=".json", prefix=f"{project}-context-v{based_on}-", delete=False, encoding="utf-8"
        ) as handle:
            handle.write(original)
            draft = Path(handle.name)
        try:
            result = subprocess.run([*editor_command(), str(draft)], check=False)  # noqa: S603 - the user's own $EDITOR
            if result.returncode != 0:
                usage(f"The editor exited with status {result.returncode}; nothing was saved.")
            edited = draft.read_text(encoding="utf-8")
            if edited.strip() == original.strip():
                console.print(f"No change: the context stays at version {based_on}.")
                if as_json:
                    emit_json(row)
                return
            try:
                content = json.loads(edited)
            except json.JSONDecodeError as exc:
                keep = draft.with_suffix(".rejected.json")
                draft.replace(keep)
                usage(f"Not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. Your text is in {keep}.")
            try:
                saved = gw.request("PUT", path, json=content, headers={"If-Match": f'"{based_on}"'})
            except Refused:
                keep = draft.with_suffix(".rejected.json")
                draft.replace(keep)
                console.print(f"Your edit was not saved; it is in {keep}.", highlight=False)
                raise
        finally:
            draft.unlink(missing_ok=True)
    if as_json:
        emit_json(saved)
    else:
        console.print(f"Saved context version {saved['version']} (based on version {based_on}).")
