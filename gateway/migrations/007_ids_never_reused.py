"""007: ids that appear in URLs are never handed out twice (SQLite AUTOINCREMENT).

Without AUTOINCREMENT, SQLite gives a new row max(id) + 1: delete the newest artifact and the next upload gets
its id, so a client holding the old id reads the new bytes. The tables whose ids clients hold (tasks,
artifacts, plan versions, and events, whose id is the global `after` cursor) are rebuilt with AUTOINCREMENT,
rows, ids and indexes kept. PostgreSQL's sequences never hand out an id twice: nothing to do there.
"""

from alembic import op

revision = "007"
down_revision = "006"
branch_labels = None
depends_on = None

TABLES = ("tasks", "artifacts", "task_plans", "events")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    raise NotImplementedError("the gateway's history is append-only: restore a backup instead of downgrading")
