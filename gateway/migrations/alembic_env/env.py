"""Alembic environment: runs on the connection `gateway.migrations.upgrade` hands it, in its transaction."""

from alembic import context
from sqlmodel import SQLModel

import gateway.app.db  # noqa: F401 - registers the tables on SQLModel.metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through `gateway migrate` (or gateway.migrations.upgrade), not alembic")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,
    compare_type=True,
    on_version_apply=config.attributes.get("on_version_apply"),
)
with context.begin_transaction():
    context.run_migrations()
