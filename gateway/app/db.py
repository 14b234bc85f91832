"""Tables and the DatabaseManager: the seed's schema contract (DESIGN.md §1).

The baseline tables (projects, tasks, artifacts) are what the gateway had before the seed's extension;
`TaskPlanDB`, `ContextDB` and the fields marked "001" are the seed's, with its names, types and defaults.
The schema itself is owned by the migrations in gateway/migrations; `init_db()` applies them.
"""

import json
import os
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import Index, event, false, func, literal_column, text, true
from sqlalchemy.engine import URL, Dialect, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.operators import OperatorType
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import AutoString, Field, Session, SQLModel, col, create_engine, select

from gateway.app.config import DEFAULT_DATABASE_URL
from gateway.app.errors import InvalidInput


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC (the seed's `datetime.utcnow`, made aware)."""
    return datetime.now(UTC)


def _server_default(value: Any) -> dict[str, Any]:
    """Column kwargs that make the database fill the same default as the model (for raw inserts)."""
    return {"server_default": value}


class JSONText(TypeDecorator[Any]):
    """A JSON value kept in a text column: Python values in, the same JSON text out as before, values back.

    The column stays the VARCHAR the migrations made (the seed's schema does not change); `compact` and
    `ensure_ascii` write exactly the text each column held when it was written by hand, so databases from before
    read back and compare the same. None is SQL NULL; JSON `null` text (older rows) reads back as None.

    Until it is read back, an attribute holds the value assigned, as it was given (dates are still dates):
    `as_stored` gives the value as it will read back where that matters (an event published at commit).
    Changes inside the value are not tracked: assign a new value (`row.details = {**row.details, …}`), never
    mutate the one read, or the change is not written.
    """

    impl = AutoString
    cache_ok = True

    def __init__(self, *, compact: bool = False, ensure_ascii: bool = False) -> None:
        super().__init__()
        self.compact = compact
        self.ensure_ascii = ensure_ascii

    def process_bind_param(self, value: Any, dialect: Dialect | None) -> str | None:
        """The JSON text to store (None stays NULL)."""
        if value is None:
            return None
        separators = (",", ":") if self.compact else None
        return json.dumps(value, separators=separators, ensure_ascii=self.ensure_ascii, default=str)

    def as_stored(self, value: Any) -> Any:
        """The value as it will read back: a fresh copy, with what JSON lacks (dates, tuples) as JSON has it."""
        text = self.process_bind_param(value, None)
        return json.loads(text) if text is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """The stored JSON text as Python values."""
        return json.loads(value) if value is not None else None

    def coerce_compared_value(self, op: OperatorType | None, value: Any) -> TypeEngine[Any]:
        # A LIKE or equality against a string compares the text as stored, not a JSON-encoded string.
        return self.impl_instance.coerce_compared_value(op, value)


# An event's payload: compact, ASCII (as the outbox wrote it by hand before).
EVENT_DATA = JSONText(compact=True, ensure_ascii=True)

# Ids clients hold in URLs are never handed out twice: on SQLite that takes AUTOINCREMENT (migration 007).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


# --- Baseline tables ---------------------------------------------------------------------------------


class ProjectDB(SQLModel, table=True):
    """A game project."""

    __tablename__ = "projects"

    id: str = Field(primary_key=True, description="Project slug")
    name: str = Field(description="Project name")
    description: str | None = Field(default=None, description="What the game is")
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))
    updated_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))

    # 001: the seed's extension
    active_context_id: int | None = Field(default=None, description="Active context ID")
    active_plan_id: int | None = Field(default=None, description="Active plan ID")
    current_task_id: int | None = Field(default=None, description="Current task ID")
    status: str = Field(
        default="draft",
        description="draft|consensus|active|completed",
        sa_column_kwargs=_server_default("draft"),
    )

    # 002: plans, contexts, events
    brief: dict[str, Any] | None = Field(
        default=None, sa_type=JSONText(compact=True), description="JSON game brief: genre, engine, platforms, features…"
    )
    require_review: bool = Field(
        default=False,
        description="Completed tasks wait in review for a user instead of going straight to done",
        sa_column_kwargs=_server_default(false()),
    )
    event_seq: int = Field(
        default=0,
        description="Sequence number of the project's newest event",
        sa_column_kwargs=_server_default(text("0")),
    )


class TaskDB(SQLModel, table=True):
    """A unit of work in a project (and, since 001, in one plan version)."""

    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", index=True, description="Project ID")
    title: str = Field(description="Task title")
    description: str | None = Field(default=None, description="What to do")
    status: str = Field(default="pending", description="Task status", sa_column_kwargs=_server_default("pending"))
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))
    updated_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))

    # 001: the seed's extension
    plan_id: int | None = Field(default=None, index=True, description="Plan ID")
    idx: int = Field(default=0, description="Order index in plan", sa_column_kwargs=_server_default(text("0")))
    code: str | None = Field(default=None, description="Stable code like T-001")
    mcp_tools: str | None = Field(default=None, description="JSON array of suggested MCP tools")
    deliverables: str | None = Field(default=None, description="JSON array of deliverables")
    estimates: str | None = Field(default=None, description="JSON estimates {story_points, time_hours}")
    priority: int = Field(default=1, description="Task priority", sa_column_kwargs=_server_default(text("1")))
    started_at: datetime | None = Field(default=None)
    completed_at: datetime | None = Field(default=None)

    # 002: plans and execution
    discipline: str | None = Field(default=None, description="design|programming|art|audio|ui|qa|release")
    acceptance_criteria: list[Any] | None = Field(
        default=None, sa_type=JSONText(), description="JSON array of acceptance criteria"
    )
    dependencies: list[str] | None = Field(
        default=None, sa_type=JSONText(), description="JSON array of codes this task depends on"
    )
    summary: str | None = Field(default=None, description="What the task delivered (set on completion)")
    blocked_reason: str | None = Field(default=None, description="Why the task is blocked")
    claimed_by: str | None = Field(default=None, description="Agent holding the task's lease")
    lease_expires_at: datetime | None = Field(default=None, description="When the agent's lease runs out")

    # 005: milestones
    milestone: str | None = Field(default=None, description="Key of the plan milestone the task belongs to")

    # 008: closing without completion
    closed_reason: str | None = Field(
        default=None, description="Why the task was closed without being done, e.g. a re-plan dropped it"
    )
    released_from: str | None = Field(
        default=None, description="The agent whose claim that closing released (it is told on its next call)"
    )

    __table_args__ = (
        Index("uq_tasks_plan_code", "plan_id", "code", unique=True),
        Index("ix_tasks_plan_status", "plan_id", "status"),
        NEVER_REUSE_IDS,
    )


class ArtifactDB(SQLModel, table=True):
    """A file handed in for a project (and, since 001, for one of its tasks)."""

    __tablename__ = "artifacts"

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", index=True, description="Project ID")
    name: str = Field(description="File name")
    path: str = Field(description="Where the file lives")
    mime_type: str | None = Field(default=None, description="Content type")
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))

    # 001: the seed's extension
    task_id: int | None = Field(default=None, index=True, description="Associated task ID")
    category: str | None = Field(default=None, description="code|asset|document|screenshot")
    validation_status: str = Field(
        default="pending",
        description="pending|valid|invalid",
        sa_column_kwargs=_server_default("pending"),
    )
    size_bytes: int | None = Field(default=None)

    # 002: storage and validation
    sha256: str | None = Field(default=None, index=True, description="SHA-256 of the content, hex")
    source: str | None = Field(default=None, description="upload|workspace|metadata")
    validation_report: dict[str, Any] | None = Field(
        default=None, sa_type=JSONText(), description="JSON report of the last validation"
    )
    validated_at: datetime | None = Field(default=None)

    __table_args__ = NEVER_REUSE_IDS


# --- 001: the seed's new tables ----------------------------------------------------------------------


class TaskPlanDB(SQLModel, table=True):
    """Versioned task plans for projects."""

    __tablename__ = "task_plans"

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True, description="Project ID")
    version: int = Field(description="Plan version number")
    status: str = Field(
        default="proposed",
        description="proposed|accepted|superseded (the seed's three values), and rejected",
        sa_column_kwargs=_server_default("proposed"),
    )
    summary: str | None = Field(default=None, description="Plan summary")
    created_by: str = Field(default="ai", description="ai|user|system", sa_column_kwargs=_server_default("ai"))
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))

    # 002: consensus
    based_on_id: int | None = Field(default=None, description="Plan version this one was revised or edited from")
    feedback: dict[str, Any] | None = Field(
        default=None, sa_type=JSONText(compact=True), description="JSON feedback (text and edits) that produced it"
    )
    details: dict[str, Any] | None = Field(
        default=None, sa_type=JSONText(), description="JSON: planner, template, fallbacks, scope"
    )
    decision_reason: str | None = Field(default=None, description="Why it was rejected or superseded")
    decided_at: datetime | None = Field(default=None, description="When it was accepted or superseded")

    # 005: milestones
    milestones: list[dict[str, Any]] | None = Field(
        default=None, sa_type=JSONText(), description="JSON array of milestones {key, title, goal}, in order"
    )

    # 009: planning jobs
    provenance: dict[str, Any] | None = Field(
        default=None,
        sa_type=JSONText(compact=True),
        description="JSON: planner, provider, model, prompt version, attempts, tokens, latency, cost",
    )

    __table_args__ = (Index("uq_task_plans_project_version", "project_id", "version", unique=True), NEVER_REUSE_IDS)


class ContextDB(SQLModel, table=True):
    """Versioned context for projects and tasks."""

    __tablename__ = "contexts"

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True, description="Project ID")
    scope: str = Field(description="global|task")
    task_id: int | None = Field(default=None, description="Task ID if scope=task")
    content: str = Field(description="JSON context content")
    created_by: str = Field(default="system", description="ai|user|system", sa_column_kwargs=_server_default("system"))
    source: str | None = Field(default=None, description="template-default|ai-generate|manual-edit")
    version: int = Field(default=1, description="Context version", sa_column_kwargs=_server_default(text("1")))
    is_active: bool = Field(
        default=False, description="Is this the active context", sa_column_kwargs=_server_default(false())
    )
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))

    # 002: history
    summary: str | None = Field(default=None, description="What changed in this version")

    # One key = (project, scope, task); task_id is NULL for global contexts and NULLs are distinct in unique
    # indexes, hence COALESCE. Versions are unique per key, and at most one version per key is active.
    __table_args__ = (
        Index("uq_contexts_key_version", "project_id", "scope", text("COALESCE(task_id, 0)"), "version", unique=True),
        Index(
            "uq_contexts_key_active",
            "project_id",
            "scope",
            text("COALESCE(task_id, 0)"),
            unique=True,
            sqlite_where=text("is_active = 1"),
            postgresql_where=text("is_active"),
        ),
    )


# --- 002: the event outbox ---------------------------------------------------------------------------


class EventDB(SQLModel, table=True):
    """A state change, written in the transaction that made it; delivered after the commit."""

    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True, description="Global order of events")
    event_id: str = Field(unique=True, description="Unique id, for de-duplication")
    project_id: str = Field(description="Project ID")
    seq: int = Field(description="Per-project sequence number, gap-free")
    type: str = Field(description="e.g. plan.accepted")
    data: dict[str, Any] = Field(sa_type=EVENT_DATA, description="JSON payload")
    actor: str | None = Field(default=None, description="Who caused it: user, ai, agent:<id>, system")
    correlation_id: str | None = Field(default=None, description="The request that caused it")
    created_at: datetime = Field(default_factory=utc_now, index=True, sa_column_kwargs=_server_default(func.now()))

    # 006: who asked for it (the authenticated principal and the id of the token it used, never the token)
    principal: str | None = Field(default=None, description="user:<name> or agent:<name> who made the request")
    token_id: int | None = Field(default=None, description="Id of the token the request was authenticated with")

    __table_args__ = (Index("uq_events_project_seq", "project_id", "seq", unique=True), NEVER_REUSE_IDS)


# --- 004: idempotent requests ------------------------------------------------------------------------


class IdempotencyKeyDB(SQLModel, table=True):
    """The first response to a request sent with an Idempotency-Key, replayed to its repeats."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, description="The client's Idempotency-Key")
    method: str = Field(description="HTTP method of the first request")
    path: str = Field(description="Path of the first request")
    fingerprint: str = Field(description="SHA-256 of the first request's body")
    status_code: int | None = Field(default=None, description="NULL while the first request is in flight")
    response_headers: dict[str, str] | None = Field(
        default=None, sa_type=JSONText(ensure_ascii=True), description="JSON of the headers worth replaying"
    )
    response_body: bytes | None = Field(default=None)
    created_at: datetime = Field(default_factory=utc_now, index=True, sa_column_kwargs=_server_default(func.now()))


# --- 006: principals and tokens ----------------------------------------------------------------------


class PrincipalDB(SQLModel, table=True):
    """A person (user) or an AI coding agent that can hold tokens."""

    __tablename__ = "principals"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(description="user|agent")
    name: str = Field(description="Unique per kind")
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))
    disabled_at: datetime | None = Field(default=None, description="Set when an administrator disabled it")

    __table_args__ = (Index("uq_principals_kind_name", "kind", "name", unique=True),)


class ApiTokenDB(SQLModel, table=True):
    """A bearer token: only its SHA-256 is kept; it carries a role and (for agents) its projects."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(foreign_key="principals.id", index=True)
    token_hash: str = Field(unique=True, description="SHA-256 of the token, hex")
    prefix: str = Field(description="The token's first characters, to recognise it in lists")
    role: str = Field(description="user|admin|agent")
    label: str | None = Field(default=None, description="What it is for")
    created_by: str | None = Field(default=None, description="Who made it: cli, or user:<name>")
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))
    expires_at: datetime | None = Field(default=None)
    revoked_at: datetime | None = Field(default=None)


class TokenProjectDB(SQLModel, table=True):
    """A project an agent token may work on."""

    __tablename__ = "token_projects"

    token_id: int = Field(foreign_key="api_tokens.id", primary_key=True)
    project_id: str = Field(primary_key=True, index=True)


class ProjectMemberDB(SQLModel, table=True):
    """A user who belongs to a project (and may do everything in it)."""

    __tablename__ = "project_members"

    project_id: str = Field(primary_key=True, index=True)
    principal_id: int = Field(foreign_key="principals.id", primary_key=True)
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))


# --- 009: planning jobs ------------------------------------------------------------------------------


class JobDB(SQLModel, table=True):
    """Slow AI work (a proposal, a revision, a memory update) done outside any request, by a worker."""

    __tablename__ = "jobs"

    id: str = Field(primary_key=True, description="Job id (32 hex digits)")
    project_id: str = Field(foreign_key="projects.id", description="Project ID")
    kind: str = Field(description="propose|revise|memory")
    status: str = Field(default="queued", description="queued|running|done|failed|cancelled")
    attempt: int = Field(default=0, description="Runs started so far")
    max_attempts: int = Field(default=1, description="Runs allowed before the job fails")
    base_version: int | None = Field(default=None, description="Plan version revised (or the newest one, proposing)")
    plan_version: int | None = Field(default=None, description="The version the job wrote")
    request: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSONText(), description="JSON input: planner, feedback, task…"
    )
    error: dict[str, Any] | None = Field(
        default=None, sa_type=JSONText(), description="JSON: why it failed (detail, problems)"
    )
    progress: dict[str, Any] | None = Field(
        default=None, sa_type=JSONText(), description="JSON: the latest progress report"
    )
    actor: str = Field(default="user", description="Who asked")
    cancel_requested: bool = Field(default=False, sa_column_kwargs=_server_default(false()))
    lease_owner: str | None = Field(default=None, description="Worker running it")
    lease_expires_at: datetime | None = Field(default=None, description="When a silent worker loses it")
    created_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))
    updated_at: datetime = Field(default_factory=utc_now, sa_column_kwargs=_server_default(func.now()))
    started_at: datetime | None = Field(default=None)
    finished_at: datetime | None = Field(default=None)

    __table_args__ = (
        Index("ix_jobs_project_created", "project_id", "created_at"),
        Index("ix_jobs_status_created", "status", "created_at"),
    )


# --- Engine and DatabaseManager ----------------------------------------------------------------------

_VERSION_ATTEMPTS = 5
READ_ONLY = "gateway_read_only"  # execution option: a SQLite transaction that need not take the write lock
AFTER_COMMIT = "gateway_after_commit"  # execution option: the first statement says whether it takes the lock
EVENT_LISTENERS = "gateway.event_listeners"  # Session.info key: callables given each commit's events


def resolve_database_url(database_url: str | None = None) -> str:
    """The URL to use: the argument, else GATEWAY_DATABASE_URL, else sqlite:///data/gateway.db."""
    return database_url or os.environ.get("GATEWAY_DATABASE_URL") or DEFAULT_DATABASE_URL


DEFAULT_POOL_SIZE = 50  # the default worker threads (40) and a margin for what runs beside them


def make_engine(
    database_url: str, *, busy_timeout_ms: int = 15_000, pool_size: int = DEFAULT_POOL_SIZE, echo: bool = False
) -> Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE writes.

    `pool_size` connections at least as many as the worker threads: a thread that holds SQLite's write lock
    must never wait for a connection that threads waiting for that lock hold.
    """
    url = make_url(database_url)
    pool = {"pool_size": pool_size, "max_overflow": 10}
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, echo=echo, pool_pre_ping=True, **pool)
        _refuse_unstorable_text(engine)
        return engine
    _ensure_sqlite_directory(url)
    if url.database in (None, "", ":memory:"):
        pool = {}  # one shared in-memory database: SQLAlchemy's own pool for it
    engine = create_engine(
        url, echo=echo, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}, **pool
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SQLAlchemy's; take control of it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    _queue_writers(engine, busy_timeout_ms / 1000)
    _refuse_unstorable_text(engine)
    return engine


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_text(parameters: Any) -> str | None:
    """The first character no text column can hold (NUL, or a lone UTF-16 surrogate), or None."""
    if isinstance(parameters, str):
        match = _UNSTORABLE.search(parameters)
        return match.group() if match else None
    if isinstance(parameters, dict):
        parameters = parameters.values()
    elif not isinstance(parameters, list | tuple):
        return None
    for value in parameters:
        found = _unstorable_text(value)
        if found is not None:
            return found
    return None


def _refuse_unstorable_text(engine: Engine) -> None:
    """Text holding a NUL character (or a lone UTF-16 surrogate) is refused before any statement carries it, on
    both databases.

    PostgreSQL cannot store a NUL in a text column (the driver fails, and the request with it); SQLite stores it,
    and C readers of the file stop at it. A lone surrogate (`"\\ud800"` in a JSON body that lands in a free-form
    field, an archive's row) has no UTF-8 form at all: either driver fails to encode it. One rule at the one place
    every door's writes and lookups pass: an InvalidInput (422, or an MCP tool error), in the statement's
    transaction, which then rolls back whole. JSON columns are unaffected by NUL: their text escapes it
    (`\\u0000`).
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _check(_connection: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: Any) -> None:
        found = _unstorable_text(parameters)
        if found is None:
            return
        if found == "\x00":
            raise InvalidInput(
                "Text cannot contain the NUL character (\\u0000); remove it and send the request again.",
                errors=[{"loc": [], "msg": "contains a NUL character (\\u0000)", "type": "nul_character"}],
            )
        raise InvalidInput(
            f"Text cannot contain a lone UTF-16 surrogate (\\u{ord(found):04x}): no UTF-8 text holds one; send the"
            " character as a surrogate pair or as UTF-8.",
            errors=[{"loc": [], "msg": "contains a lone surrogate", "type": "surrogate_character"}],
        )


def _queue_writers(engine: Engine, wait_s: float) -> None:
    """Write transactions take SQLite's write lock up front, queued in arrival order within this process."""
    writers = FifoLock()

    def _begin_write(connection: Any, dbapi_connection: Any) -> None:
        # SQLite's busy handler sleeps and polls, so this process's waiting writers would be served in random
        # order (seconds of tail latency for some agents); queue them here, in arrival order, instead.
        if not writers.acquire(timeout=wait_s):
            raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            writers.release()
            raise
        connection.info[_HOLDS_WRITER] = True

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        if options.get(AFTER_COMMIT):
            # The session already committed its write: what follows is usually reads for the response. Let the
            # first statement decide, so that those reads never take (nor queue for) the write lock.
            connection.info[_UNDECIDED] = True
            return
        # A write transaction takes the write lock up front: a deferred BEGIN that later writes fails with
        # "database is locked" under contention, whatever the busy timeout.
        _begin_write(connection, connection.connection.dbapi_connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(connection: Any, cursor: Any, statement: str, _params: Any, context: Any, _many: Any) -> None:
        info = connection.info
        if info.pop(_UNDECIDED, False):
            if _reads(statement) and not _locks_rows(context):
                cursor.connection.execute("BEGIN")
                info[_READING] = True
            else:
                _begin_write(connection, cursor.connection)
        elif info.get(_READING) and not _reads(statement):
            # Upgrading a read snapshot to a write fails under contention (SQLITE_BUSY_SNAPSHOT): a programming
            # error, caught by the tests, never a lost or half-done write.
            raise WriteAfterCommitError(
                "A session wrote after reading in the transaction that followed its commit; "
                "end that transaction (commit or rollback) before writing again."
            )

    def _on_end(connection: Any) -> None:
        connection.info.pop(_UNDECIDED, None)
        connection.info.pop(_READING, None)
        if connection.info.pop(_HOLDS_WRITER, False):
            writers.release()

    event.listen(engine, "commit", _on_end)
    event.listen(engine, "rollback", _on_end)


_HOLDS_WRITER = "gateway_holds_writer_lock"
_UNDECIDED = "gateway_begin_undecided"
_READING = "gateway_lazy_read"
_READ_PREFIXES = ("SELECT", "PRAGMA", "WITH", "EXPLAIN")


class WriteAfterCommitError(RuntimeError):
    """A session began writing in the middle of a read transaction that followed one of its commits."""


def _reads(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_READ_PREFIXES)


def _locks_rows(context: Any) -> bool:
    """A SELECT … FOR UPDATE (which SQLite compiles without the clause): the start of a write use case."""
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


class FifoLock:
    """A lock granted in arrival order."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, *, timeout: float) -> bool:
        """Wait (up to `timeout` seconds) for the lock; whoever asked first gets it first."""
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait timed out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False


def _ensure_sqlite_directory(url: URL) -> None:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def key_filters(project_id: str, scope: str, task_id: int | None) -> list[Any]:
    """WHERE clauses for one context key (project, scope, task), in the form the key's indexes are built on.

    The indexes are on COALESCE(task_id, 0); the 0 must be literal SQL for the planners to use them.
    """
    task_key = func.coalesce(ContextDB.task_id, literal_column("0"))
    return [ContextDB.project_id == project_id, ContextDB.scope == scope, task_key == (task_id or 0)]


_COMMITTED = "gateway.committed"  # Session.info key: the session's last transaction ended in a commit
_AFTER_COMMIT_BIND = "gateway.after_commit_bind"  # Session.info key: the engine for transactions after a commit


class GatewaySession(Session):
    """A Session whose transactions after a commit take SQLite's write lock only if they begin by writing.

    A request commits its change, then reads what it answers with: those reads must not hold (or queue for)
    the write lock while the response waits for the event loop or a worker thread (issue 11).
    """

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        after_commit = self.info.get(_AFTER_COMMIT_BIND)
        if after_commit is not None and self.info.get(_COMMITTED):
            return after_commit
        return super().get_bind(*args, **kwargs)


@event.listens_for(GatewaySession, "after_commit")
def _committed(session: Session) -> None:
    session.info[_COMMITTED] = True


@event.listens_for(GatewaySession, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info[_COMMITTED] = False


class DatabaseManager:
    """Owns the engine and hands out sessions; the seed's helper methods live here too."""

    def __init__(
        self, database_url: str | None = None, *, busy_timeout_ms: int = 15_000, pool_size: int = DEFAULT_POOL_SIZE
    ) -> None:
        self.database_url = resolve_database_url(database_url)
        self.engine = make_engine(self.database_url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self._after_commit_engine = self.engine.execution_options(**{AFTER_COMMIT: True})
        # Called after each commit with the events it recorded (see gateway.app.outbox); the fan-out hooks in.
        self.event_listeners: list[Callable[[list[Any]], None]] = []

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextmanager
    def get_session(self) -> Iterator[Session]:
        """A session for one unit of work; uncommitted changes are rolled back when it closes."""
        with self.new_session() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only: on SQLite it does not take the write lock."""
        with self.new_read_session() as session:
            yield session

    def new_session(self) -> Session:
        """The session `get_session` yields, for a caller that closes it itself (connects on first use)."""
        info: dict[str, Any] = {EVENT_LISTENERS: self.event_listeners}
        if self.dialect == "sqlite":
            info[_AFTER_COMMIT_BIND] = self._after_commit_engine
        return GatewaySession(self.engine, expire_on_commit=False, info=info)

    def new_read_session(self) -> Session:
        """The session `read_session` yields, for a caller that closes it itself (connects on first use)."""
        return Session(self._read_engine, expire_on_commit=False)

    def init_db(self) -> list[str]:
        """Bring the schema to current by applying every pending migration; returns the revisions applied."""
        from gateway.migrations import upgrade

        return upgrade(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # --- The seed's methods ---------------------------------------------------------------------------

    def get_active_plan(self, project_id: str) -> Optional[TaskPlanDB]:  # noqa: UP045 - the seed's signature
        """Get active plan for project."""
        with self.read_session() as session:
            project = session.get(ProjectDB, project_id)
            if project and project.active_plan_id:
                return session.get(TaskPlanDB, project.active_plan_id)
            return None

    def create_task_plan(self, plan: TaskPlanDB) -> TaskPlanDB:
        """Create new task plan."""
        with self.get_session() as session:
            session.add(plan)
            session.commit()
            session.refresh(plan)
            return plan

    def get_active_context(
        self, project_id: str, scope: str = "global", task_id: int | None = None
    ) -> Optional[ContextDB]:  # noqa: UP045 - the seed's signature
        """Get the active context for a key: (project, scope) and, for scope=task, the task."""
        with self.read_session() as session:
            active = col(ContextDB.is_active) == true()
            stmt = select(ContextDB).where(*key_filters(project_id, scope, task_id), active)
            return session.exec(stmt).first()

    def create_context(self, context: ContextDB) -> ContextDB:
        """Create the next context version of its key and make it the only active one, in one transaction."""
        for attempt in range(_VERSION_ATTEMPTS):
            try:
                return self._create_context(context)
            except IntegrityError:
                # Another writer took the same version number first (the unique indexes said so): renumber.
                if attempt == _VERSION_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _create_context(self, context: ContextDB) -> ContextDB:
        with self.get_session() as session:
            key = key_filters(context.project_id, context.scope, context.task_id)
            latest = session.exec(select(func.max(ContextDB.version)).where(*key)).one()
            for old_ctx in session.exec(select(ContextDB).where(*key, col(ContextDB.is_active) == true())):
                old_ctx.is_active = False
                session.add(old_ctx)
            session.flush()
            context.version = (latest or 0) + 1
            context.is_active = True
            session.add(context)
            session.flush()
            project = session.get(ProjectDB, context.project_id)
            if project is not None and context.scope == "global" and context.task_id is None:
                project.active_context_id = context.id
                session.add(project)
            session.commit()
            session.refresh(context)
            return context
