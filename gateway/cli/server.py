"""Running a gateway: `serve` (HTTP) and `mcp` (the MCP server on stdio)."""

import os
from typing import Annotated

import typer

app = typer.Typer()


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
