"""gateway/migrations: 001 upgrades a pre-extension database in place; `gateway migrate` reaches the same schema."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from typer.testing import CliRunner

import gateway
from gateway import migrations
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager, make_engine
from gateway.app.main import create_app
from gateway.cli import app as cli
from tests.conftest import LocalClient

SCRIPT = Path(gateway.__file__).parent / "migrations" / "001_extend_schema.py"
REPO = Path(gateway.__file__).resolve().parents[1]

BASELINE_ROWS = [
    "INSERT INTO projects (id, name, description, created_at, updated_at) VALUES "
    "('old-one', 'Old One', 'made before the extension', '2024-01-02 03:04:05.000000', '2024-01-02 03:04:05.000000'),"
    "('old-two', 'Old Two', NULL, '2024-02-03 04:05:06.000000', '2024-02-03 04:05:06.000000')",
    "INSERT INTO tasks (project_id, title, description, status, created_at, updated_at) VALUES "
    "('old-one', 'Sketch the level', 'paper first', 'done', '2024-01-02 03:04:05', '2024-01-02 03:04:05'),"
    "('old-one', 'Write the jump', NULL, 'pending', '2024-01-02 03:04:05', '2024-01-02 03:04:05')",
    "INSERT INTO artifacts (project_id, name, path, mime_type, created_at) VALUES "
    "('old-one', 'level.png', 'art/level.png', 'image/png', '2024-01-02 03:04:05')",
]


def schema_of(engine: Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability, default), indexes, keys: what two databases must share."""
    inspector = inspect(engine)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [
                (c["name"], str(c["type"]).split("(")[0], c["nullable"], str(c.get("default")).strip("'()"))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
            ),
            "foreign_keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in inspector.get_foreign_keys(table)
            ),
        }
    if engine.dialect.name == "sqlite":  # SQLite does not reflect expression indexes: compare their SQL
        schema["sqlite_indexes"] = rows(
            engine, "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        )
    else:
        schema["pg_indexes"] = rows(
            engine, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname"
        )
    return schema


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def make_baseline(url: str) -> None:
    """A database as the gateway left it before the extension: the three tables and some rows."""
    engine = make_engine(url)
    migrations.upgrade(engine, "000")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # the old gateway knew nothing of Alembic
        for statement in BASELINE_ROWS:
            connection.execute(text(statement))
    engine.dispose()


def run_script(*args: str, cwd: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510 - the exit status is asserted by the caller
        [python, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_001_script_upgrades_a_baseline_database_in_place_twice(tmp_path: Path):
    (tmp_path / "data").mkdir()
    make_baseline("sqlite:///data/gateway.db")
    engine = make_engine("sqlite:///data/gateway.db")
    before = rows(engine, "SELECT id, name, description, created_at, updated_at FROM projects ORDER BY id")

    first = run_script(cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Migration 001 complete" in first.stdout
    assert "added column projects.status" in first.stderr
    after_first = schema_of(engine)
    second = run_script(cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already applied" in second.stdout
    assert schema_of(engine) == after_first

    assert rows(engine, "SELECT id, name, description, created_at, updated_at FROM projects ORDER BY id") == before
    assert (
        rows(engine, "SELECT status, active_plan_id, active_context_id, current_task_id FROM projects")
        == [("draft", None, None, None)] * 2
    )
    assert rows(engine, "SELECT title, status, idx, priority, plan_id, code FROM tasks ORDER BY id") == [
        ("Sketch the level", "done", 0, 1, None, None),
        ("Write the jump", "pending", 0, 1, None, None),
    ]
    assert rows(engine, "SELECT name, validation_status, task_id, category FROM artifacts") == [
        ("level.png", "pending", None, None)
    ]
    assert {"task_plans", "contexts"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_script_completes_a_partly_applied_001(tmp_path: Path):
    """Someone ran part of the seed's script by hand: one table, one nullable column, then it stopped."""
    (tmp_path / "data").mkdir()
    make_baseline("sqlite:///data/gateway.db")
    engine = make_engine("sqlite:///data/gateway.db")
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE projects ADD COLUMN status TEXT DEFAULT 'draft'"))
        connection.execute(text("UPDATE projects SET status = NULL WHERE id = 'old-two'"))
        connection.execute(text("ALTER TABLE tasks ADD COLUMN plan_id INTEGER"))
        connection.execute(
            text(
                "CREATE TABLE task_plans (id INTEGER NOT NULL PRIMARY KEY, project_id VARCHAR NOT NULL, "
                "version INTEGER NOT NULL, status VARCHAR DEFAULT 'proposed' NOT NULL, summary VARCHAR, "
                "created_by VARCHAR DEFAULT 'ai' NOT NULL, created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL)"
            )
        )
    result = run_script(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created table contexts" in result.stderr
    assert "created table task_plans" not in result.stderr
    assert "added column projects.active_plan_id" in result.stderr
    assert rows(engine, "SELECT id, status FROM projects ORDER BY id") == [("old-one", "draft"), ("old-two", "draft")]
    task_columns = {c["name"] for c in inspect(engine).get_columns("tasks")}
    assert {"plan_id", "idx", "code", "priority", "started_at", "completed_at"} <= task_columns
    assert migrations.current(engine) == "001"
    engine.dispose()


def test_the_script_leaves_a_missing_database_alone(tmp_path: Path):
    result = run_script(cwd=tmp_path)
    assert result.returncode == 0
    assert "No database at data/gateway.db" in result.stdout
    assert not (tmp_path / "data").exists()


def test_the_script_reports_a_broken_database_and_changes_nothing(tmp_path: Path):
    (tmp_path / "data").mkdir()
    make_baseline("sqlite:///data/gateway.db")
    engine = make_engine("sqlite:///data/gateway.db")
    with engine.begin() as connection:  # a view where 001 expects a table: its ALTER fails midway
        connection.execute(text("ALTER TABLE artifacts RENAME TO artifacts_real"))
        connection.execute(text("CREATE VIEW artifacts AS SELECT * FROM artifacts_real"))
    before = schema_of(engine)
    result = run_script(cwd=tmp_path)
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr
    assert schema_of(engine) == before
    engine.dispose()


@pytest.mark.skipif(Path(sys.prefix).resolve() != (REPO / ".venv").resolve(), reason="needs the project's .venv")
def test_the_script_runs_with_a_python_that_lacks_the_dependencies(tmp_path: Path):
    """A newcomer types `python gateway/migrations/001_extend_schema.py` outside the venv: it still works."""
    bare_python = getattr(sys, "_base_executable", None)
    if not bare_python or subprocess.run([bare_python, "-c", "import alembic"], capture_output=True).returncode == 0:  # noqa: PLW1510
        pytest.skip("no Python without the dependencies at hand")
    (tmp_path / "data").mkdir()
    make_baseline("sqlite:///data/gateway.db")
    result = run_script(cwd=tmp_path, python=bare_python)
    assert result.returncode == 0, result.stderr
    assert "Migration 001 complete" in result.stdout


def test_script_and_migrate_upgrade_postgres_too(backend, empty_database_url, tmp_path: Path):
    make_baseline(empty_database_url)
    result = run_script(empty_database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    again = run_script(empty_database_url, cwd=tmp_path)
    assert again.returncode == 0
    assert "already applied" in again.stdout
    engine = make_engine(empty_database_url)
    assert migrations.current(engine) == "001"
    engine.dispose()


def test_fresh_and_upgraded_databases_end_with_the_same_schema(backend, empty_database_url, request, tmp_path):
    # Upgraded: baseline with rows → the 001 script → `gateway migrate`.
    make_baseline(empty_database_url)
    assert run_script(empty_database_url, cwd=tmp_path).returncode == 0
    result = CliRunner().invoke(cli, ["migrate", "--database-url", empty_database_url])
    assert result.exit_code == 0, result.output
    upgraded = make_engine(empty_database_url)
    # Fresh: `init_db()` on an empty database.
    fresh_url = request.getfixturevalue("database_url")
    fresh = make_engine(fresh_url)
    assert schema_of(upgraded) == schema_of(fresh)
    assert migrations.current(upgraded) == migrations.current(fresh) == migrations.head()
    assert rows(upgraded, "SELECT count(*) FROM projects") == [(2,)]
    upgraded.dispose()
    fresh.dispose()


def test_the_models_and_the_migrations_agree(db):
    """Autogenerate finds nothing to do: db.py and the migrations describe the same schema."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_002_renumbers_contexts_the_seeds_helpers_left_at_version_1(empty_database_url):
    """Before 002, the seed's create_context numbered nothing: every row was version 1, several active."""
    engine = make_engine(empty_database_url)
    migrations.upgrade(engine, "001")
    with engine.begin() as connection:
        for content, active, task in [("a", False, None), ("b", True, None), ("c", True, None), ("t", True, 7)]:
            connection.execute(
                text(
                    "INSERT INTO contexts (project_id, scope, task_id, content, is_active) VALUES ('p', :s, :t, :c, :a)"
                ),
                {"s": "task" if task else "global", "t": task, "c": content, "a": active},
            )
        for version in (1, 1):
            connection.execute(text("INSERT INTO task_plans (project_id, version) VALUES ('p', :v)"), {"v": version})
    migrations.upgrade(engine)
    assert rows(engine, "SELECT content, version, is_active FROM contexts ORDER BY id") == [
        ("a", 1, False),
        ("b", 2, False),
        ("c", 3, True),
        ("t", 1, True),
    ]
    assert rows(engine, "SELECT version FROM task_plans ORDER BY id") == [(1,), (2,)]
    engine.dispose()


def test_migrate_applies_every_revision_and_then_nothing(empty_database_url):
    manager = DatabaseManager(empty_database_url)
    assert manager.init_db() == migrations.revisions()
    assert manager.init_db() == []
    assert migrations.is_current(manager.engine)
    manager.dispose()


def test_concurrent_migrations_serialize(empty_database_url):
    """Three processes starting at once on one database: one migrates, the others find nothing to do."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway", "migrate", "--database-url", empty_database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert sum(f"Applied {', '.join(migrations.revisions())};" in output for output in outputs) == 1, outputs
    assert sum("Nothing to do" in output for output in outputs) == 2, outputs


def test_old_projects_are_listed_unchanged_after_the_upgrade(tmp_path: Path):
    (tmp_path / "data").mkdir()
    make_baseline("sqlite:///data/gateway.db")
    assert run_script(cwd=tmp_path).returncode == 0
    assert run_script(cwd=tmp_path).returncode == 0
    assert CliRunner().invoke(cli, ["migrate"]).exit_code == 0
    with LocalClient(create_app(Settings())) as client:
        listed = client.get("/api/v1/projects").json()["items"]
        assert [(p["id"], p["name"], p["description"], p["status"]) for p in listed] == [
            ("old-two", "Old Two", None, "draft"),
            ("old-one", "Old One", "made before the extension", "draft"),
        ]
        assert listed[1]["created_at"] == "2024-01-02T03:04:05Z"
        tasks = client.get("/api/v1/projects/old-one/tasks").json()["items"]
        assert [(t["title"], t["status"], t["priority"]) for t in tasks] == [
            ("Sketch the level", "done", 1),
            ("Write the jump", "pending", 1),
        ]
        assert client.get("/ready").json()["schema_revision"] == migrations.head()
