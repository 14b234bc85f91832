"""`gateway artifacts`: list, upload (with a progress bar) and validate again."""

from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from gateway.cli._client import DEFAULT_URL, AsJson, Project, Token, Url, connect, emit_json, handled, table, usage
from gateway.cli._console import Text, console
from gateway.cli.tasks import resolve

app = typer.Typer(help="Files handed in for tasks, validated by the gateway.", no_args_is_help=True)


def artifact_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [a["id"], a.get("task_id"), a["path"], a.get("category"), a["validation_status"], a.get("size_bytes")]
        for a in items
    ]


COLUMNS = ["id", "task", "path", "category", "validation", "bytes"]


def report_errors(artifact: dict[str, Any]) -> list[str]:
    report = artifact.get("validation_report") or {}
    return [
        str(error.get("message", error)) if isinstance(error, dict) else str(error)
        for error in report.get("errors") or []
    ]


@app.command("list")
@handled
def list_artifacts(
    project: Project,
    task: Annotated[str | None, typer.Option("--task", "-t", help="Only this task's artifacts (code or id)")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List a project's artifacts and their validation status."""
    with connect(url, token) as gw:
        params = {"task_id": resolve(gw, project, task)["id"]} if task else {}
        items = list(gw.pages(f"/api/v1/projects/{project}/artifacts", params=params))
    if as_json:
        emit_json(items)
    else:
        table(f"Artifacts of {project}", COLUMNS, artifact_rows(items))


class _Progressing:
    """A file whose reads advance a progress bar (the upload streams the file through it)."""

    def __init__(self, handle: BinaryIO, advance: Any) -> None:
        self.handle = handle
        self.advance = advance

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.advance(len(chunk))
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


def upload_file(
    gw: Any, project: str, file: Path, *, task_id: int | None, category: str | None, path: str | None, progress: bool
) -> dict[str, Any]:
    """Upload one file (multipart, streamed) and answer the artifact."""
    params = {key: value for key, value in {"task_id": task_id, "category": category, "path": path}.items() if value}
    size = file.stat().st_size
    with file.open("rb") as handle:
        if not progress:
            files = {"file": (file.name, handle, "application/octet-stream")}
            return gw.post(f"/api/v1/projects/{project}/artifacts/files", params=params, files=files)
        from rich.markup import escape
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=console
        ) as bar:
            job = bar.add_task(escape(f"Uploading {file.name}"), total=size)
            reader = _Progressing(handle, lambda n: bar.advance(job, n))
            streamed = {"file": (file.name, reader, "application/octet-stream")}
            return gw.post(f"/api/v1/projects/{project}/artifacts/files", params=params, files=streamed)


@app.command()
@handled
def upload(
    files: Annotated[list[Path], typer.Argument(help="Files to upload", exists=True, dir_okay=False, readable=True)],
    project: Project,
    task: Annotated[str | None, typer.Option("--task", "-t", help="The task they are for (code or id)")] = None,
    category: Annotated[
        str | None, typer.Option(help="code, asset, document or screenshot (default: inferred)")
    ] = None,
    path: Annotated[str | None, typer.Option(help="Where the file belongs in the project (one file only)")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Upload files for a task; each is stored and validated (exit 1 when one is invalid)."""
    if path and len(files) > 1:
        usage("--path names one file: upload the files one at a time.")
    results = []
    with connect(url, token) as gw:
        task_id = resolve(gw, project, task)["id"] if task else None
        for file in files:
            results.append(
                upload_file(gw, project, file, task_id=task_id, category=category, path=path, progress=not as_json)
            )
    if as_json:
        emit_json(results)
    else:
        table(None, COLUMNS, artifact_rows(results))
        for artifact in results:
            for error in report_errors(artifact):
                console.print(Text.assemble((artifact["path"], "red"), f": {error}"))
    if any(a["validation_status"] == "invalid" for a in results):
        raise typer.Exit(1)


@app.command()
@handled
def validate(
    artifact_id: Annotated[int, typer.Argument(help="The artifact's id", min=1)],
    project: Project,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Validate an artifact's file again (exit 1 when it is invalid)."""
    with connect(url, token) as gw:
        artifact = gw.post(f"/api/v1/projects/{project}/artifacts/{artifact_id}/validate")
    if as_json:
        emit_json(artifact)
    else:
        console.print(f"{artifact['path']}: {artifact['validation_status']}", highlight=False)
        for error in report_errors(artifact):
            console.print(f"  - {error}", highlight=False, markup=False)
    if artifact["validation_status"] == "invalid":
        raise typer.Exit(1)
