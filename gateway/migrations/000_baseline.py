"""000: the baseline: the gateway's tables before the seed's extension (projects, tasks, artifacts).

Creates whichever of the three tables is missing, so a database an older gateway made is adopted as is.
"""

import sqlalchemy as sa
from alembic import op

from gateway.migrations import Reconciler

revision = "000"
down_revision = None
branch_labels = None
depends_on = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


PROJECTS = [
    lambda: sa.Column("id", sa.String(), primary_key=True),
    lambda: sa.Column("name", sa.String(), nullable=False),
    lambda: sa.Column("description", sa.String(), nullable=True),
    lambda: _timestamp("created_at"),
    lambda: _timestamp("updated_at"),
]
TASKS = [
    lambda: sa.Column("id", sa.Integer(), primary_key=True),
    lambda: sa.Column("project_id", sa.String(), sa.ForeignKey("projects.id"), nullable=False),
    lambda: sa.Column("title", sa.String(), nullable=False),
    lambda: sa.Column("description", sa.String(), nullable=True),
    lambda: sa.Column("status", sa.String(), nullable=False, server_default="pending"),
    lambda: _timestamp("created_at"),
    lambda: _timestamp("updated_at"),
]
ARTIFACTS = [
    lambda: sa.Column("id", sa.Integer(), primary_key=True),
    lambda: sa.Column("project_id", sa.String(), sa.ForeignKey("projects.id"), nullable=False),
    lambda: sa.Column("name", sa.String(), nullable=False),
    lambda: sa.Column("path", sa.String(), nullable=False),
    lambda: sa.Column("mime_type", sa.String(), nullable=True),
    lambda: _timestamp("created_at"),
]


def upgrade() -> None:
    schema = Reconciler(op)
    for table, columns in (("projects", PROJECTS), ("tasks", TASKS), ("artifacts", ARTIFACTS)):
        if not schema.has_table(table):
            schema.ensure_table(table, columns)
    schema.ensure_index("ix_tasks_project_id", "tasks", ["project_id"])
    schema.ensure_index("ix_artifacts_project_id", "artifacts", ["project_id"])


def downgrade() -> None:
    raise NotImplementedError("the gateway's history is append-only: restore a backup instead of downgrading")
