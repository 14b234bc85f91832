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
