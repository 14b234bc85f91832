"""Running a gateway: `serve` (HTTP) and `mcp` (the MCP server on stdio)."""

import os
from typing import Annotated, Any

import typer

from gateway.cli._console import console

app = typer.Typer()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (default: $PORT or 8000)")] = int(os.environ.get("PORT", "8000")),
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Serve the gateway over HTTP."""
    import uvicorn

    from gateway.app.config import auth_mode_for, get_settings
    from gateway.app.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        mode = auth_mode_for(host, settings.auth)
    except ValueError as exc:
        console.print(f"[red]Refusing to start:[/red] {exc}")
        raise typer.Exit(2) from None
    # The app is built by uvicorn (in each worker) from the environment: the mode travels there.
    os.environ["GATEWAY_AUTH"] = mode
    get_settings.cache_clear()
    from gateway.app.logging import get_logger

    get_logger("gateway.auth").info(
        "authentication mode",
        mode=mode,
        meaning="requests from this machine without a token act as the local user"
        if mode == "local"
        else "every request needs a token",
    )
    uvicorn.run(
        "gateway.app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        **proxy_options(settings.forwarded_allow_ips),
    )


def proxy_options(trusted: list[str]) -> dict[str, Any]:
    """uvicorn's proxy settings: X-Forwarded-* believed only from the configured proxies.

    uvicorn's own default believes them from 127.0.0.1 ($FORWARDED_ALLOW_IPS), so that any local process could
    pass itself off as any address (in the logs, and to the local-mode check); off unless proxies are named.
    """
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted)}


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
    db = DatabaseManager(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms, pool_size=settings.pool_size
    )
    principal = _stdio_principal(db, settings.auth_mode)
    hub = event_streams.hub_from_settings(db=db, settings=settings)
    server = build_server(
        db=db,
        store=BlobStore(settings.artifacts_dir),
        settings=settings,
        lifespan=stdio_lifespan(hub, settings),
        principal=principal,
    )
    from gateway.app.main import freeze_startup_objects

    freeze_startup_objects()
    try:
        server.run("stdio")
    finally:
        db.dispose()


def _stdio_principal(db, mode: str):
    """Who `gateway mcp` acts as: GATEWAY_TOKEN's principal; without one, the local user (local mode only)."""
    from gateway.app.auth import tokens
    from gateway.app.auth.principal import LOCAL_USER

    secret = os.environ.get("GATEWAY_TOKEN", "").strip()
    if not secret:
        if mode == "required":
            console.print("[red]GATEWAY_AUTH=required:[/red] set GATEWAY_TOKEN to the agent's token.")
            raise typer.Exit(2)
        return LOCAL_USER
    with db.read_session() as session:
        principal, reason = tokens.authenticate(session, secret)
    if principal is None:
        console.print(f"[red]GATEWAY_TOKEN is not a valid token[/red] ({reason}): ask an administrator for one.")
        raise typer.Exit(2)
    return principal
