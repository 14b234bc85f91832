"""Schema migrations (Alembic). The revision files live in this folder: 000_baseline.py, 001_extend_schema.py…

`upgrade(engine)` brings a database to the newest revision in one transaction; `gateway migrate` and
`DatabaseManager.init_db()` call it. Revisions 000 and 001 inspect before they change anything, so they also
complete a database that an older gateway (or a partial run of the seed's script) left half-migrated.
"""

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from gateway.app.db import READ_ONLY, make_engine, resolve_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent
log = logging.getLogger("gateway.migrations")
_ALEMBIC = threading.Lock()


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / "alembic_env"))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head() -> str:
    """The newest revision id."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated by Alembic)."""
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision."""
    return current(engine) == head()


def upgrade(engine: Engine, target: str = "head") -> list[str]:
    """Apply every pending revision up to `target` in one transaction; returns the revisions applied."""
    applied: list[str] = []

    def on_version_apply(*, step: Any, **_: Any) -> None:
        applied.append(step.up_revision_id)
        log.info("applied revision %s", step.up_revision_id)

    config = _config()
    # Alembic keeps its running context in module globals: one migration at a time per process.
    with _ALEMBIC, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Processes starting at once on one database: the others wait, then find nothing left to do.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727364)")
        config.attributes["connection"] = connection
        config.attributes["on_version_apply"] = on_version_apply
        command.upgrade(config, target)
    return applied


class Reconciler:
    """Idempotent schema steps for revisions that must also complete a half-migrated database.

    Each step inspects the live schema first and only adds what is missing, so running it twice, or on a
    database where part of it was already applied by hand, ends in the same schema as a fresh run.
    """

    def __init__(self, op: Any) -> None:
        self.op = op
        self.bind = op.get_bind()
        self.changes: list[str] = []

    def _inspector(self) -> Any:
        return sa.inspect(self.bind)

    def has_table(self, table: str) -> bool:
        """Whether the table exists."""
        return self._inspector().has_table(table)

    def ensure_table(self, table: str, columns: list[Callable[[], sa.Column[Any]]]) -> None:
        """Create the table, or add the columns it lacks; each column comes fresh from its factory."""
        if not self.has_table(table):
            self.op.create_table(table, *(factory() for factory in columns))
            self._note(f"created table {table}")
            return
        self.ensure_columns(table, columns)

    def ensure_columns(self, table: str, columns: list[Callable[[], sa.Column[Any]]]) -> None:
        """Add the columns the table lacks; fill NULLs in existing ones that have a default."""
        existing = {column["name"] for column in self._inspector().get_columns(table)}
        for factory in columns:
            column = factory()
            if column.name not in existing:
                self.op.add_column(table, column)
                self._note(f"added column {table}.{column.name}")
            elif column.server_default is not None and not column.nullable:
                # A column an earlier partial run added as nullable: give its old rows the seed's default.
                default = column.server_default.arg
                value = default if isinstance(default, sa.sql.ClauseElement) else sa.literal(default)
                table_clause = sa.table(table, sa.column(column.name))
                result = self.bind.execute(
                    table_clause.update().where(table_clause.c[column.name].is_(None)).values({column.name: value})
                )
                if result.rowcount:
                    self._note(f"filled {result.rowcount} empty {table}.{column.name}")

    def ensure_index(self, name: str, table: str, columns: list[str], *, unique: bool = False) -> None:
        """Create the index unless one with that name, or on exactly those columns, exists."""
        for index in self._inspector().get_indexes(table):
            if index["name"] == name or list(index["column_names"]) == columns:
                return
        self.op.create_index(name, table, columns, unique=unique)
        self._note(f"created index {name}")

    def _note(self, change: str) -> None:
        self.changes.append(change)
        log.info(change)


def applied_revisions(engine: Engine) -> set[str]:
    """The revisions the database has had applied: its current one and all its ancestors."""
    at = current(engine)
    if at is None:
        return set()
    script = ScriptDirectory.from_config(_config())
    return {rev.revision for rev in script.iterate_revisions(at, "base")}


def run_script(*, target: str, database_url: str | None = None) -> int:
    """Upgrade an existing database to `target`, for a person at a terminal; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="  %(message)s")
    url = make_url(resolve_database_url(database_url))
    is_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if is_file and not Path(str(url.database)).exists():
        print(f"No database at {url.database}: nothing to upgrade (`gateway migrate` creates a new one).")
        return 0
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        if target in applied_revisions(engine):
            print(f"Migration {target} is already applied (database at revision {current(engine)}): nothing to do.")
            return 0
        print(f"Applying migration {target} to {url.render_as_string(hide_password=True)}")
        upgrade(engine, target)
    except SQLAlchemyError as exc:
        print(f"Migration {target} failed, nothing was changed: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"Migration {target} complete.")
    return 0
