"""008: why a task was closed without being done (e.g. a re-plan dropped it), and whose claim that released."""

import sqlalchemy as sa
from alembic import op

revision = "008"
down_revision = "007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("closed_reason", sa.String(), nullable=True))
    op.add_column("tasks", sa.Column("released_from", sa.String(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the gateway's history is append-only: restore a backup instead of downgrading")
