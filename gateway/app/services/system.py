"""Liveness and readiness of the service."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.app.db import DatabaseManager
from gateway.app.errors import ServiceUnavailable


def readiness(*, db: DatabaseManager) -> dict[str, Any]:
    """The database answers and its schema is the newest revision; ServiceUnavailable otherwise."""
    # Alembic is imported by the first readiness check, not by every process start (~55 ms of `gateway serve`).
    from gateway import migrations

    head = migrations.head()
    try:
        with db.read_session() as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]  # sqlmodel's exec() is typed for SELECT only; this is a textual statement
        at = migrations.current(db.engine)
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"The database is unreachable: {type(exc).__name__}.", database=db.dialect, schema_head=head
        ) from None
    if at != head:
        raise ServiceUnavailable(
            f"The database schema is at revision {at or 'none'}, not {head}: run `gateway migrate`.",
            database=db.dialect,
            schema_revision=at,
            schema_head=head,
        )
    return {"status": "ready", "database": db.dialect, "schema_revision": at}
