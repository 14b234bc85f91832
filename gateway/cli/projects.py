"""`gateway projects`: list, create (from flags or a brief file), show."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli._client import DEFAULT_URL, AsJson, Token, Url, connect, emit_json, handled, table, usage
from gateway.cli._console import console

app = typer.Typer(help="Projects: a game, its brief and its plan.", no_args_is_help=True)
PROJECT_KEYS = {"id", "name", "description", "require_review"}


def read_brief_file(path: Path) -> dict[str, Any]:
    """A brief file (TOML, YAML or JSON, by extension) as a project-creation body."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        usage(f"Cannot read {path}: {exc.strerror or exc}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            usage(f"{path}: a brief file is .toml, .yaml, .yml or .json")
    except ValueError as exc:  # tomllib, json and yaml errors all carry the line
        usage(f"{path} is not valid {suffix[1:].upper()}: {exc}")
    except Exception as exc:  # yaml.YAMLError
        usage(f"{path} is not valid YAML: {exc}")
    if not isinstance(data, dict):
        usage(f"{path}: expected a table/mapping of brief fields at the top")
    if "brief" in data:
        return data
    body = {key: data[key] for key in PROJECT_KEYS if key in data}
    body["brief"] = {key: value for key, value in data.items() if key not in PROJECT_KEYS}
    return body


def project_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [p["id"], p["name"], p["status"], (p.get("brief") or {}).get("genre"), (p.get("brief") or {}).get("engine")]
        for p in items
    ]


@app.command("list")
@handled
def list_projects(url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """List the gateway's projects."""
    with connect(url, token) as gw:
        items = list(gw.pages("/api/v1/projects"))
    if as_json:
        emit_json(items)
    else:
        table("Projects", ["id", "name", "status", "genre", "engine"], project_rows(items))


@app.command()
@handled
def create(
    name: Annotated[str | None, typer.Argument(help="The project's name (default: the brief's title)")] = None,
    brief_file: Annotated[
        Path | None, typer.Option("--brief", "-b", help="A brief file: TOML, YAML or JSON", dir_okay=False)
    ] = None,
    project_id: Annotated[
        str | None, typer.Option("--id", help="The project's id (a slug; default: from the name)")
    ] = None,
    pitch: Annotated[str | None, typer.Option(help="The game in a few sentences")] = None,
    genre: Annotated[str | None, typer.Option(help="platformer-2d, top-down-action, puzzle, rpg…")] = None,
    engine: Annotated[str | None, typer.Option(help="godot, unity or phaser")] = None,
    platform: Annotated[list[str] | None, typer.Option("--platform", help="A target platform (repeat)")] = None,
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="A feature, or no-X to drop one (repeat)")
    ] = None,
    art_style: Annotated[str | None, typer.Option(help="Visual style")] = None,
    scope: Annotated[str | None, typer.Option(help="prototype, mvp or full")] = None,
    description: Annotated[str | None, typer.Option(help="A description of the project")] = None,
    require_review: Annotated[bool, typer.Option(help="Completed tasks wait for a person's approval")] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Create a project from a brief: flags, a brief file, or both (flags win)."""
    body: dict[str, Any] = read_brief_file(brief_file) if brief_file else {"brief": {}}
    brief = body.setdefault("brief", {}) or {}
    flags = {"pitch": pitch, "genre": genre, "engine": engine, "art_style": art_style, "scope": scope}
    brief.update({key: value for key, value in flags.items() if value is not None})
    if platform:
        brief["platforms"] = platform
    if feature:
        brief["features"] = feature
    body["brief"] = brief
    if name:
        body["name"] = name
        brief.setdefault("title", name)
    body.setdefault("name", brief.get("title"))
    if not body.get("name"):
        usage("Give the project a name (argument NAME) or a brief with a title.")
    if project_id:
        body["id"] = project_id
    if description:
        body["description"] = description
    if require_review:
        body["require_review"] = True
    with connect(url, token) as gw:
        project = gw.post("/api/v1/projects", json=body)
    if as_json:
        emit_json(project)
    else:
        console.print(f"Created project {project['id']} ({project['name']}), status {project['status']}.")
        console.print(f"Next: gateway plans propose -p {project['id']}")


@app.command()
@handled
def show(
    project_id: Annotated[str, typer.Argument(help="The project's id")],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show a project, its brief and where it stands."""
    with connect(url, token) as gw:
        project = gw.get(f"/api/v1/projects/{project_id}")
    if as_json:
        emit_json(project)
        return
    brief = project.get("brief") or {}
    rows = [
        ["id", project["id"]],
        ["name", project["name"]],
        ["status", project["status"]],
        ["current task", project.get("current_task_id")],
        ["events", project.get("event_seq")],
        *[[key, ", ".join(value) if isinstance(value, list) else value] for key, value in brief.items() if value],
    ]
    table(None, ["field", "value"], rows)


@app.command("export")
@handled
def export_project(
    project_id: Annotated[str, typer.Argument(help="The project's id")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout)")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """Export a project's whole history (plans, tasks, contexts, events, artifact metadata) as one archive."""
    with connect(url, token) as gw:
        archive = gw.get(f"/api/v1/projects/{project_id}/archive")
    text = json.dumps(archive, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(
        f"Wrote {output}: {len(archive['plans'])} plan versions, {len(archive['tasks'])} tasks, "
        f"{len(archive['contexts'])} context versions, {len(archive['events'])} events, "
        f"{len(archive['artifacts'])} artifacts (metadata)."
    )


@app.command("import")
@handled
def import_project(
    archive_file: Annotated[
        Path, typer.Argument(help="An archive written by `gateway projects export`", exists=True, dir_okay=False)
    ],
    project_id: Annotated[
        str | None, typer.Option("--id", help="Import under this id (default: the archived one)")
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Import a project archive (from this or another gateway) as a new project."""
    try:
        archive = json.loads(archive_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        usage(f"Cannot read {archive_file}: {exc}")
    except json.JSONDecodeError as exc:
        usage(f"{archive_file} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).")
    with connect(url, token) as gw:
        project = gw.post("/api/v1/archives", json=archive, params={"project_id": project_id} if project_id else None)
    if as_json:
        emit_json(project)
    else:
        console.print(f"Imported project {project['id']} ({project['name']}), status {project['status']}.")
