"""005: milestones — a plan version's ordered milestones and the milestone each task belongs to."""

import sqlalchemy as sa
from alembic import op

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_plans") as batch:
        batch.add_column(sa.Column("milestones", sa.String(), nullable=True))
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("milestone", sa.String(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the gateway's history is append-only: restore a backup instead of downgrading")
