"""002: consensus, execution, context history and the event outbox.

Adds the columns the plan, context, task and artifact services need, the `events` outbox, and the
constraints that make versions safe under concurrent writers: plan versions unique per project, context
versions unique per (project, scope, task) with at most one active, task codes unique per plan. Rows written
before this revision by the seed's helpers (which numbered every context version 1) are renumbered first.
"""

import sqlalchemy as sa
from alembic import op

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None

CONTEXT_KEY = sa.text("COALESCE(task_id, 0)")


def _renumber_context_versions() -> None:
    """Give each context key versions 1..n in (version, id) order and leave only its newest active row."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, project_id, scope, COALESCE(task_id, 0) AS key, is_active FROM contexts "
            "ORDER BY project_id, scope, COALESCE(task_id, 0), version, id"
        )
    ).all()
    by_key: dict[tuple, list] = {}
    for row in rows:
        by_key.setdefault((row.project_id, row.scope, row.key), []).append(row)
    for versions in by_key.values():
        active_ids = [row.id for row in versions if row.is_active]
        keep_active = active_ids[-1] if active_ids else None
        for number, row in enumerate(versions, start=1):
            bind.execute(
                sa.text("UPDATE contexts SET version = :v, is_active = :a WHERE id = :id"),
                {"v": -number, "a": row.id == keep_active, "id": row.id},
            )
    bind.execute(sa.text("UPDATE contexts SET version = -version WHERE version < 0"))


def _renumber_plan_versions() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, project_id FROM task_plans ORDER BY project_id, version, id")).all()
    counters: dict[str, int] = {}
    for row in rows:
        counters[row.project_id] = counters.get(row.project_id, 0) + 1
        bind.execute(
            sa.text("UPDATE task_plans SET version = :v WHERE id = :id"), {"v": -counters[row.project_id], "id": row.id}
        )
    bind.execute(sa.text("UPDATE task_plans SET version = -version WHERE version < 0"))


def _dedupe_task_codes() -> None:
    bind = op.get_bind()
    duplicates = bind.execute(
        sa.text(
            "SELECT t.id FROM tasks t WHERE t.plan_id IS NOT NULL AND t.code IS NOT NULL AND EXISTS ("
            "SELECT 1 FROM tasks o WHERE o.plan_id = t.plan_id AND o.code = t.code AND o.id < t.id)"
        )
    ).all()
    for (task_id,) in duplicates:
        bind.execute(
            sa.text("UPDATE tasks SET code = code || '-' || CAST(id AS VARCHAR) WHERE id = :id"), {"id": task_id}
        )


def upgrade() -> None:
    op.add_column("projects", sa.Column("brief", sa.String(), nullable=True))
    op.add_column("projects", sa.Column("require_review", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("projects", sa.Column("event_seq", sa.Integer(), nullable=False, server_default=sa.text("0")))

    for name in ("discipline", "acceptance_criteria", "dependencies", "summary", "blocked_reason", "claimed_by"):
        op.add_column("tasks", sa.Column(name, sa.String(), nullable=True))
    op.add_column("tasks", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    _dedupe_task_codes()
    op.create_index("uq_tasks_plan_code", "tasks", ["plan_id", "code"], unique=True)
    op.create_index("ix_tasks_plan_status", "tasks", ["plan_id", "status"])

    for name in ("sha256", "source", "validation_report"):
        op.add_column("artifacts", sa.Column(name, sa.String(), nullable=True))
    op.add_column("artifacts", sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_artifacts_sha256", "artifacts", ["sha256"])

    op.add_column("task_plans", sa.Column("based_on_id", sa.Integer(), nullable=True))
    for name in ("feedback", "details", "decision_reason"):
        op.add_column("task_plans", sa.Column(name, sa.String(), nullable=True))
    op.add_column("task_plans", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    _renumber_plan_versions()
    op.create_index("uq_task_plans_project_version", "task_plans", ["project_id", "version"], unique=True)

    op.add_column("contexts", sa.Column("summary", sa.String(), nullable=True))
    _renumber_context_versions()
    op.create_index("uq_contexts_key_version", "contexts", ["project_id", "scope", CONTEXT_KEY, "version"], unique=True)
    op.create_index(
        "uq_contexts_key_active",
        "contexts",
        ["project_id", "scope", CONTEXT_KEY],
        unique=True,
        sqlite_where=sa.text("is_active = 1"),
        postgresql_where=sa.text("is_active"),
    )

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("data", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("uq_events_project_seq", "events", ["project_id", "seq"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("the gateway's history is append-only: restore a backup instead of downgrading")
