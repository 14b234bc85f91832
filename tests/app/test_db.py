"""gateway/app/db.py: the seed's schema contract and the DatabaseManager."""

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from gateway.app.db import (
    ArtifactDB,
    ContextDB,
    DatabaseManager,
    ProjectDB,
    TaskDB,
    TaskPlanDB,
    make_engine,
    resolve_database_url,
    utc_now,
)

# The seed's fields: name -> (python default, description) exactly as it lists them.
SEED_FIELDS = {
    TaskPlanDB: {
        "id": None,
        "project_id": ...,
        "version": ...,
        "status": "proposed",
        "summary": None,
        "created_by": "ai",
    },
    ContextDB: {
        "id": None,
        "project_id": ...,
        "scope": ...,
        "task_id": None,
        "content": ...,
        "created_by": "system",
        "source": None,
        "version": 1,
        "is_active": False,
    },
    ProjectDB: {"active_context_id": None, "active_plan_id": None, "current_task_id": None, "status": "draft"},
    TaskDB: {
        "plan_id": None,
        "idx": 0,
        "code": None,
        "mcp_tools": None,
        "deliverables": None,
        "estimates": None,
        "priority": 1,
        "started_at": None,
        "completed_at": None,
    },
    ArtifactDB: {"task_id": None, "category": None, "validation_status": "pending", "size_bytes": None},
}


def test_table_names_are_the_seeds():
    assert TaskPlanDB.__tablename__ == "task_plans"
    assert ContextDB.__tablename__ == "contexts"
    assert (ProjectDB.__tablename__, TaskDB.__tablename__, ArtifactDB.__tablename__) == (
        "projects",
        "tasks",
        "artifacts",
    )


@pytest.mark.parametrize("model", list(SEED_FIELDS), ids=lambda m: m.__name__)
def test_seed_fields_and_defaults(model):
    fields = model.model_fields
    for name, default in SEED_FIELDS[model].items():
        assert name in fields, f"{model.__name__}.{name} is missing"
        if default is ...:
            assert fields[name].is_required(), f"{model.__name__}.{name} should be required"
        else:
            assert fields[name].default == default, f"{model.__name__}.{name} default"


def test_timestamps_default_to_aware_utc_now():
    plan = TaskPlanDB(project_id="p", version=1)
    context = ContextDB(project_id="p", scope="global", content="{}")
    for value in (plan.created_at, context.created_at, utc_now()):
        assert value.tzinfo is not None
        assert value.utcoffset().total_seconds() == 0
        assert abs((datetime.now(UTC) - value).total_seconds()) < 5


def test_schema_has_the_seeds_indexes_and_nullability(db):
    inspector = inspect(db.engine)
    indexed = {
        (table, tuple(index["column_names"]))
        for table in inspector.get_table_names()
        for index in inspector.get_indexes(table)
    }
    for expected in [
        ("task_plans", ("project_id",)),
        ("contexts", ("project_id",)),
        ("tasks", ("plan_id",)),
        ("tasks", ("project_id",)),
        ("artifacts", ("task_id",)),
        ("artifacts", ("project_id",)),
    ]:
        assert expected in indexed
    columns = {c["name"]: c for c in inspector.get_columns("projects")}
    assert columns["status"]["nullable"] is False
    assert "draft" in str(columns["status"]["default"])
    assert columns["active_plan_id"]["nullable"] is True


def test_default_database_is_data_gateway_db_in_the_working_directory(tmp_path: Path):
    manager = DatabaseManager()
    assert manager.database_url == "sqlite:///data/gateway.db"
    manager.init_db()
    manager.dispose()
    assert (tmp_path / "data" / "gateway.db").is_file()
    assert not (tmp_path / "gateway" / "data").exists()


def test_environment_variable_moves_the_database(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert resolve_database_url() == f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert resolve_database_url("sqlite:///x.db") == "sqlite:///x.db"
    manager = DatabaseManager()
    manager.init_db()
    manager.dispose()
    assert (tmp_path / "elsewhere.db").is_file()
    assert not (tmp_path / "data").exists()


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=4321)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
    engine.dispose()


def test_sqlite_enforces_foreign_keys(db):
    if db.dialect != "sqlite":
        pytest.skip("the pragma is SQLite's")
    with db.get_session() as session:
        session.add(TaskDB(project_id="nope", title="orphan"))
        with pytest.raises(Exception, match="FOREIGN KEY"):
            session.commit()


def test_init_db_is_idempotent(db):
    assert db.init_db() == []
    with db.read_session() as session:
        assert session.exec(select(ProjectDB)).all() == []


def test_create_task_plan_and_get_active_plan(db):
    with db.get_session() as session:
        session.add(ProjectDB(id="p1", name="One"))
        session.commit()
    assert db.get_active_plan("p1") is None
    assert db.get_active_plan("missing") is None
    plan = db.create_task_plan(TaskPlanDB(project_id="p1", version=1, summary="First"))
    assert plan.id is not None
    assert (plan.status, plan.created_by, plan.version) == ("proposed", "ai", 1)
    assert db.get_active_plan("p1") is None  # proposed, not yet the project's active plan
    with db.get_session() as session:
        project = session.get(ProjectDB, "p1")
        project.active_plan_id = plan.id
        session.add(project)
        session.commit()
    active = db.get_active_plan("p1")
    assert active is not None
    assert (active.id, active.summary) == (plan.id, "First")


def test_create_context_numbers_versions_and_keeps_one_active(db):
    with db.get_session() as session:
        session.add(ProjectDB(id="p1", name="One"))
        session.commit()
    first = db.create_context(ContextDB(project_id="p1", scope="global", content=json.dumps({"v": 1})))
    second = db.create_context(ContextDB(project_id="p1", scope="global", content=json.dumps({"v": 2})))
    assert (first.version, second.version) == (1, 2)
    active = db.get_active_context("p1")
    assert active is not None
    assert (active.id, json.loads(active.content)) == (second.id, {"v": 2})
    with db.read_session() as session:
        rows = session.exec(select(ContextDB).where(ContextDB.project_id == "p1")).all()
        assert sorted((r.version, r.is_active) for r in rows) == [(1, False), (2, True)]
        assert session.get(ProjectDB, "p1").active_context_id == second.id


def test_task_contexts_are_keyed_per_task(db):
    """The seed keyed the active context by (project, scope); one task's context must not retire another's."""
    with db.get_session() as session:
        session.add(ProjectDB(id="p1", name="One"))
        session.add(ProjectDB(id="p2", name="Two"))
        session.commit()
    global_ctx = db.create_context(ContextDB(project_id="p1", scope="global", content="{}"))
    t1 = db.create_context(ContextDB(project_id="p1", scope="task", task_id=1, content='{"t": 1}'))
    t2 = db.create_context(ContextDB(project_id="p1", scope="task", task_id=2, content='{"t": 2}'))
    t1b = db.create_context(ContextDB(project_id="p1", scope="task", task_id=1, content='{"t": "1b"}'))
    other = db.create_context(ContextDB(project_id="p2", scope="global", content="{}"))
    assert (t1.version, t2.version, t1b.version, other.version) == (1, 1, 2, 1)
    assert db.get_active_context("p1", "task", task_id=1).id == t1b.id
    assert db.get_active_context("p1", "task", task_id=2).id == t2.id
    assert db.get_active_context("p1").id == global_ctx.id
    assert db.get_active_context("p1", "task") is None  # a task context needs its task id
    with db.read_session() as session:
        assert session.get(ProjectDB, "p1").active_context_id == global_ctx.id


def test_seed_methods_work_without_a_project_row(db):
    """The seed's tables carry no foreign keys: its methods accept any project id, as it wrote them."""
    plan = db.create_task_plan(TaskPlanDB(project_id="ghost", version=1))
    context = db.create_context(ContextDB(project_id="ghost", scope="global", content="{}"))
    assert plan.id
    assert context.is_active
    assert db.get_active_context("ghost").id == context.id


def test_raw_inserts_get_the_same_defaults_as_the_models(db):
    """An older tool writing plain SQL gets the seed's defaults from the database itself."""
    with db.get_session() as session:
        session.exec(text("INSERT INTO projects (id, name) VALUES ('raw', 'Raw')"))
        session.exec(text("INSERT INTO tasks (project_id, title) VALUES ('raw', 'T')"))
        session.exec(text("INSERT INTO task_plans (project_id, version) VALUES ('raw', 1)"))
        session.exec(text("INSERT INTO contexts (project_id, scope, content) VALUES ('raw', 'global', '{}')"))
        session.commit()
    with db.read_session() as session:
        project = session.get(ProjectDB, "raw")
        task = session.exec(select(TaskDB)).one()
        plan = session.exec(select(TaskPlanDB)).one()
        context = session.exec(select(ContextDB)).one()
    assert project.status == "draft"
    assert project.created_at.tzinfo is not None
    assert (task.status, task.idx, task.priority) == ("pending", 0, 1)
    assert (plan.status, plan.created_by) == ("proposed", "ai")
    assert (context.created_by, context.version, context.is_active) == ("system", 1, False)


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path: Path):
    manager = DatabaseManager(f"sqlite:///{tmp_path / 'r.db'}", busy_timeout_ms=100)
    manager.init_db()
    writer = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with manager.read_session() as session:
            assert session.exec(select(ProjectDB)).all() == []
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        manager.dispose()


def test_the_writer_queue_serves_in_arrival_order_and_times_out():
    import threading
    import time

    from gateway.app.db import FifoLock

    lock = FifoLock()
    assert lock.acquire(timeout=0.1)
    order: list[int] = []

    def waiter(n: int) -> None:
        assert lock.acquire(timeout=5)
        order.append(n)
        lock.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=waiter, args=(n,))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # arrive one after another
    assert not lock.acquire(timeout=0.05)  # held, and the queue is ahead of us
    lock.release()
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2, 3, 4]
    assert lock.acquire(timeout=0.1)
    lock.release()


def _write_lock_free(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_reads_after_a_commit_do_not_hold_the_write_lock(tmp_path: Path):
    """A request commits, then reads what it answers with: those reads must leave SQLite's write lock free."""
    path = tmp_path / "l.db"
    manager = DatabaseManager(f"sqlite:///{path}", busy_timeout_ms=200)
    manager.init_db()
    try:
        with manager.get_session() as session:
            session.add(ProjectDB(id="p", name="P"))
            session.commit()
            assert session.exec(select(ProjectDB)).all()  # a read after the commit, transaction still open
            assert _write_lock_free(path)
            session.rollback()
            # After a rollback (a retry, say), the next transaction is a write one again, lock taken up front.
            session.exec(select(ProjectDB)).all()
            assert not _write_lock_free(path)
    finally:
        manager.dispose()


def test_after_a_commit_a_write_or_a_row_lock_first_takes_the_write_lock(tmp_path: Path):
    from gateway.app.db import WriteAfterCommitError

    path = tmp_path / "w.db"
    manager = DatabaseManager(f"sqlite:///{path}", busy_timeout_ms=200)
    manager.init_db()
    try:
        with manager.get_session() as session:
            session.add(ProjectDB(id="p", name="P"))
            session.commit()
            session.add(ProjectDB(id="q", name="Q"))  # the next transaction begins by writing
            session.flush()
            assert not _write_lock_free(path)
            session.commit()
            assert session.exec(select(ProjectDB).where(ProjectDB.id == "q").with_for_update()).one()
            assert not _write_lock_free(path)  # SELECT … FOR UPDATE announces a write use case
            session.get(ProjectDB, "q").name = "Q2"  # type: ignore[union-attr]
            session.commit()
            assert _write_lock_free(path)
            assert session.exec(select(ProjectDB)).all()  # a plain read first: a read transaction …
            session.add(ProjectDB(id="r", name="R"))
            with pytest.raises(WriteAfterCommitError):  # … that must not turn into a write
                session.flush()
        with manager.read_session() as session:
            assert {p.id for p in session.exec(select(ProjectDB))} == {"p", "q"}
    finally:
        manager.dispose()
