"""The database: `migrate`."""

from typing import Annotated

import typer

from gateway.cli._console import console

app = typer.Typer()


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
def gc(
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: $GATEWAY_DATABASE_URL or data/gateway.db)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON")] = False,
) -> None:
    """Remove crash leftovers from the artifact store: temp files and blobs no artifact references.

    Safe while gateways serve from the same data directory: a hand-in in flight keeps its bytes.
    """
    import json

    from gateway.app.config import get_settings
    from gateway.app.db import DatabaseManager
    from gateway.app.logging import configure_logging
    from gateway.app.services.artifacts import collect_garbage
    from gateway.app.storage import BlobStore

    settings = get_settings()
    configure_logging("WARNING", settings.log_format)
    db = DatabaseManager(database_url or settings.database_url)
    try:
        collected = collect_garbage(db, BlobStore(settings.artifacts_dir))
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(vars(collected)))
        return
    console.print(
        f"Removed {collected.temp_files} temp files and {collected.blobs} unreferenced blobs "
        f"({collected.bytes_freed} bytes); {collected.blobs_kept} blobs kept."
    )
