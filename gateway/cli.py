"""The `gateway` command: serve, migrate, openapi, version."""

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway import __version__

app = typer.Typer(help="Gateway: AI-assisted game development backend.", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (default: $PORT or 8000)")] = int(os.environ.get("PORT", "8000")),
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Serve the gateway over HTTP."""
    import uvicorn

    from gateway.app.config import get_settings
    from gateway.app.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "gateway.app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def migrate(
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: $GATEWAY_DATABASE_URL or data/gateway.db)")
    ] = None,
) -> None:
    """Bring the database to the current schema (applies every pending migration)."""
    from gateway import migrations
    from gateway.app.config import get_settings
    from gateway.app.db import DatabaseManager
    from gateway.app.logging import configure_logging

    settings = get_settings()
    configure_logging("WARNING", settings.log_format)
    db = DatabaseManager(database_url or settings.database_url)
    try:
        applied = db.init_db()
        at = migrations.current(db.engine)
    finally:
        db.dispose()
    if applied:
        console.print(f"Applied {', '.join(applied)}; the database is at revision {at}.")
    else:
        console.print(f"Nothing to do: the database is at revision {at}.")


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout")] = None,
) -> None:
    """Print (or write) the OpenAPI document of the API."""
    from gateway.app.main import create_app

    document = json.dumps(create_app().openapi(), indent=2, sort_keys=False) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")
        console.print(f"Wrote {output}")


@app.command()
def mcp() -> None:
    """Serve the MCP server on stdio (for an agent that launches the gateway itself)."""
    from gateway.app.config import get_settings
    from gateway.app.db import DatabaseManager
    from gateway.app.logging import configure_logging
    from gateway.app.mcp.server import build_server, stdio_lifespan
    from gateway.app.services import event_streams
    from gateway.app.storage import BlobStore

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)  # stderr: stdout belongs to the protocol
    db = DatabaseManager(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    hub = event_streams.hub_from_settings(db=db, settings=settings)
    server = build_server(
        db=db, store=BlobStore(settings.artifacts_dir), settings=settings, lifespan=stdio_lifespan(hub, settings)
    )
    from gateway.app.main import freeze_startup_objects

    freeze_startup_objects()
    try:
        server.run("stdio")
    finally:
        db.dispose()


@app.command()
def version() -> None:
    """Print the gateway's version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the console script."""
    app()
