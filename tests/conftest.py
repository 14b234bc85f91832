"""Fixtures: a fresh database per test on SQLite and (when configured) PostgreSQL, and an app over it.

PostgreSQL runs when GATEWAY_TEST_POSTGRES_URL names a server (any database on it; each test gets its own
database, created from a migrated template and dropped afterwards). Redis tests run when
GATEWAY_TEST_REDIS_URL names a server (each test on its own channel). Under CI=true a missing or
unreachable PostgreSQL or Redis fails the run instead of skipping.
"""

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.main import create_app

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
LOCAL = "http://127.0.0.1"  # a Host the gateway answers to (the TestClient's default "testserver" is not)


class LocalClient(TestClient):
    """A TestClient that talks to the app as http://127.0.0.1 (HTTP and WebSocket alike)."""

    def __init__(self, app, **kwargs) -> None:
        kwargs.setdefault("base_url", LOCAL)
        kwargs.setdefault("client", ("127.0.0.1", 50000))
        super().__init__(app, **kwargs)

    def websocket_connect(self, url: str, *args, **kwargs):
        if url.startswith("/"):
            url = "ws://127.0.0.1" + url
        return super().websocket_connect(url, *args, **kwargs)


REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


class PostgresServer:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, *, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
            # A test database needs no durability against a crash of PostgreSQL itself: commits skip the fsync.
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if not POSTGRES_URL:
        _postgres_unavailable("GATEWAY_TEST_POSTGRES_URL is not set")
    server = PostgresServer(POSTGRES_URL)
    try:
        with server.admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        _postgres_unavailable(f"cannot reach {server.url.render_as_string()}: {exc}")
    yield server
    server.admin.dispose()


def _redis_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Redis is required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The test Redis server's URL, once it answered a PING."""
    if not REDIS_URL:
        _redis_unavailable("GATEWAY_TEST_REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        _redis_unavailable(f"cannot reach {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_channel(redis_server_url: str) -> str:
    """A pub/sub channel of this test's own (pub/sub keeps no keys, so there is nothing to clean up)."""
    return _unique("gateway-test") + ":events"


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "gateway.db"
    manager = DatabaseManager(f"sqlite:///{path}")
    manager.init_db()
    manager.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> Iterator[str]:
    name = _unique("gw_template")
    manager = DatabaseManager(postgres_server.create(name))
    manager.init_db()
    manager.dispose()
    yield name
    postgres_server.drop(name)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs a database runs on each backend, unless marked sqlite_only."""
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if only_sqlite else BACKENDS)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the current schema."""
    if backend == "sqlite":
        path = tmp_path / "gateway.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    databases: ReusableDatabases = request.getfixturevalue("postgres_databases")
    name = databases.acquire()
    yield databases.server.url_for(name)
    databases.release(name)


class ReusableDatabases:
    """Migrated PostgreSQL databases handed to one test at a time and emptied for the next.

    Creating a database from the template and dropping it costs 0.6-2 s a test; emptying its tables costs ~20 ms.
    A database is reused only when nothing is still connected to it and its schema is still the template's
    (a test that migrated it elsewhere gets it dropped instead).
    """

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server = server
        self.template = template
        self.free: list[str] = []
        engine = create_engine(server.url_for(template), poolclass=NullPool)
        with engine.connect() as connection:
            self.schema_version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

    def acquire(self) -> str:
        if self.free:
            return self.free.pop()
        name = _unique("gw_test")
        self.server.create(name, template=self.template)
        return name

    def release(self, name: str) -> None:
        if self._emptied(name):
            self.free.append(name)
        else:
            self.server.drop(name)

    def _emptied(self, name: str) -> bool:
        # What the test left connected (a pool being disposed, a server thread) is done with: end it.
        with self.server.admin.connect() as connection:
            for _ in range(50):
                others = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).scalar_one()
                if not others:
                    break
                time.sleep(0.02)
            else:
                return False
        engine = create_engine(self.server.url_for(name), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
                if version != self.schema_version:
                    return False
                tables = connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                ).scalars()
                sequences = connection.execute(
                    text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
                )
                # Foreign keys are not checked while emptying (a superuser's setting, local to this transaction).
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                for table in tables.all():
                    connection.execute(text(f'DELETE FROM "{table}"'))
                for sequence in sequences.scalars().all():
                    connection.execute(text("SELECT setval(:sequence, 1, false)"), {"sequence": f'"{sequence}"'})
            return True
        except Exception:
            return False
        finally:
            engine.dispose()

    def close(self) -> None:
        for name in self.free:
            self.server.drop(name)


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: PostgresServer, postgres_template: str) -> Iterator[ReusableDatabases]:
    databases = ReusableDatabases(postgres_server, postgres_template)
    yield databases
    databases.close()


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no tables at all)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = _unique("gw_empty")
    yield server.create(name)
    server.drop(name)


@pytest.fixture
def db(database_url: str) -> Iterator[DatabaseManager]:
    manager = DatabaseManager(database_url)
    yield manager
    manager.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", log_format="json")


@pytest.fixture
def app(settings: Settings, db: DatabaseManager):
    return create_app(settings, db=db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with LocalClient(app) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _isolated_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the repository's data/gateway.db or inherits the developer's GATEWAY_* settings."""
    from gateway.app.config import get_settings

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("GATEWAY_") and not name.startswith("GATEWAY_TEST_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()


class LiveServer:
    """The app served by a real uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, app) -> None:
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert self.thread.is_alive(), "uvicorn exited"
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """A clock the test moves (`clock.shift(seconds)`) instead of sleeping; it ticks on from the real now."""
    with time_machine.travel(datetime.now(UTC), tick=True) as coordinates:
        yield coordinates


@pytest.fixture
def fake_llm():
    """A scripted LLM service (OpenAI chat completions and Anthropic messages) on a loopback port."""
    from tests.fake_llm import FakeLLMServer

    with FakeLLMServer() as fake:
        yield fake


@pytest.fixture
def llm_client(database_url: str, tmp_path: Path, fake_llm, db: DatabaseManager) -> Iterator[TestClient]:
    """A client of an app whose default planner is an LLM served by `fake_llm`."""
    from tests.llm_fixtures import llm_settings

    with LocalClient(create_app(llm_settings(database_url, tmp_path, fake_llm), db=db)) as test_client:
        yield test_client
