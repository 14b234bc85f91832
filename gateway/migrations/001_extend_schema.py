"""001: extend the schema for versioned plans and contexts, without losing data (the seed's migration).

Upgrade an existing database in place:

    python gateway/migrations/001_extend_schema.py [DATABASE_URL]

The database is data/gateway.db (or GATEWAY_DATABASE_URL, or the argument). Every step looks before it acts:
old rows keep their values and get the seed's defaults in the new columns, a database where part of 001 was
already applied is completed, and a second run changes nothing and exits 0. The same file is revision "001"
of `gateway migrate`, which applies it and every later revision on SQLite and PostgreSQL.
"""

import os
import sys
from pathlib import Path


def _bootstrap() -> None:
    """Make `gateway` importable when this file runs from a checkout, re-running in the project's .venv."""
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    try:
        import alembic  # noqa: F401
        import sqlmodel  # noqa: F401
    except ModuleNotFoundError:
        venv = root / ".venv"
        if (venv / "bin" / "python").exists() and Path(sys.prefix).resolve() != venv.resolve():
            os.execv(venv / "bin" / "python", [str(venv / "bin" / "python"), *sys.argv])  # noqa: S606
        sys.exit("gateway's dependencies are missing: run `make run` once (or `pip install -e .`), then retry")


if __name__ == "__main__":
    _bootstrap()

import sqlalchemy as sa
from alembic import op

from gateway.migrations import Reconciler

revision = "001"
down_revision = "000"
branch_labels = None
depends_on = None


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


# The seed's fields, in its order; each factory builds a fresh Column (a Column belongs to one table).
PROJECT_COLUMNS = [
    lambda: sa.Column("active_context_id", sa.Integer(), nullable=True),
    lambda: sa.Column("active_plan_id", sa.Integer(), nullable=True),
    lambda: sa.Column("current_task_id", sa.Integer(), nullable=True),
    lambda: sa.Column("status", sa.String(), nullable=False, server_default="draft"),
]
TASK_COLUMNS = [
    lambda: sa.Column("plan_id", sa.Integer(), nullable=True),
    lambda: sa.Column("idx", sa.Integer(), nullable=False, server_default=sa.text("0")),
    lambda: sa.Column("code", sa.String(), nullable=True),
    lambda: sa.Column("mcp_tools", sa.String(), nullable=True),
    lambda: sa.Column("deliverables", sa.String(), nullable=True),
    lambda: sa.Column("estimates", sa.String(), nullable=True),
    lambda: sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("1")),
    lambda: sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    lambda: sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
]
ARTIFACT_COLUMNS = [
    lambda: sa.Column("task_id", sa.Integer(), nullable=True),
    lambda: sa.Column("category", sa.String(), nullable=True),
    lambda: sa.Column("validation_status", sa.String(), nullable=False, server_default="pending"),
    lambda: sa.Column("size_bytes", sa.Integer(), nullable=True),
]
TASK_PLAN_COLUMNS = [
    lambda: sa.Column("id", sa.Integer(), primary_key=True),
    lambda: sa.Column("project_id", sa.String(), nullable=False),
    lambda: sa.Column("version", sa.Integer(), nullable=False),
    lambda: sa.Column("status", sa.String(), nullable=False, server_default="proposed"),
    lambda: sa.Column("summary", sa.String(), nullable=True),
    lambda: sa.Column("created_by", sa.String(), nullable=False, server_default="ai"),
    lambda: _now("created_at"),
]
CONTEXT_COLUMNS = [
    lambda: sa.Column("id", sa.Integer(), primary_key=True),
    lambda: sa.Column("project_id", sa.String(), nullable=False),
    lambda: sa.Column("scope", sa.String(), nullable=False),
    lambda: sa.Column("task_id", sa.Integer(), nullable=True),
    lambda: sa.Column("content", sa.String(), nullable=False),
    lambda: sa.Column("created_by", sa.String(), nullable=False, server_default="system"),
    lambda: sa.Column("source", sa.String(), nullable=True),
    lambda: sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
    lambda: sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.false()),
    lambda: _now("created_at"),
]


def upgrade() -> None:
    schema = Reconciler(op)
    schema.ensure_table("task_plans", TASK_PLAN_COLUMNS)
    schema.ensure_index("ix_task_plans_project_id", "task_plans", ["project_id"])
    schema.ensure_table("contexts", CONTEXT_COLUMNS)
    schema.ensure_index("ix_contexts_project_id", "contexts", ["project_id"])
    schema.ensure_columns("projects", PROJECT_COLUMNS)
    schema.ensure_columns("tasks", TASK_COLUMNS)
    schema.ensure_index("ix_tasks_plan_id", "tasks", ["plan_id"])
    schema.ensure_columns("artifacts", ARTIFACT_COLUMNS)
    schema.ensure_index("ix_artifacts_task_id", "artifacts", ["task_id"])


def downgrade() -> None:
    raise NotImplementedError("the gateway's history is append-only: restore a backup instead of downgrading")


def main(argv: list[str]) -> int:
    """Apply 001 to the database named by the argument, GATEWAY_DATABASE_URL or data/gateway.db."""
    from gateway.migrations import run_script

    return run_script(target=revision, database_url=argv[0] if argv else None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
