"""Domain events: one envelope, written in the transaction that made the change (outbox), released after it.

A service calls `record(session, ...)` next to its change; the event gets the project's next `seq` (the
project row is locked until the commit, so seqs are gap-free and commit in order). The row itself is inserted
just before the commit, which gives it its global `position` (`events.id`): on PostgreSQL under a transaction
advisory lock, on SQLite under the database's write lock, so positions too become visible in commit order and
"every event after position P" never skips one that commits late. After the commit the session hands the new
events to the DatabaseManager's listeners (the fan-out); a rollback drops them, so a change that never
happened is never announced.
"""

import uuid
from datetime import datetime
from enum import IntEnum
from typing import Any

from asgi_correlation_id import correlation_id
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col

from gateway.app.auth import principal as principals
from gateway.app.db import EVENT_DATA, EVENT_LISTENERS, EventDB, ProjectDB, utc_now
from gateway.app.logging import get_logger

log = get_logger(__name__)

# Every state change the gateway announces; `docs/events.md` documents each (a test keeps them in sync).
EVENT_TYPES: dict[str, str] = {
    "project.created": "A project was created from a brief.",
    "project.updated": "A project's name, description, brief or settings changed.",
    "project.status_changed": "The project moved between draft, consensus, active and completed.",
    "project.deleted": "The project was deleted with everything in it; its earlier events are gone too.",
    "plan.proposed": "A new plan version was proposed (by the AI, or by the user as an edit).",
    "plan.accepted": "The user accepted a plan version; it is now the project's active plan.",
    "plan.rejected": "The user rejected a plan version, with a reason.",
    "plan.superseded": "A plan version was superseded: the user accepted another version.",
    "task.created": "A task was added outside a plan.",
    "task.updated": "A task's title, description or priority changed.",
    "task.deleted": "A task outside a plan was deleted.",
    "task.claimed": "An agent claimed a task (with a lease).",
    "task.released": "An agent released its claim on a task.",
    "task.lease_expired": "An agent's lease ran out; the task is ready again.",
    "task.started": "Work on a task started.",
    "task.blocked": "A task is blocked, with a reason.",
    "task.unblocked": "A blocked task can proceed again.",
    "task.submitted": "A task was completed by an agent and waits for review.",
    "task.completed": "A task is done.",
    "task.reopened": "A done task was reopened.",
    "task.cancelled": "A task was cancelled.",
    "task.current_changed": "The project's current task moved.",
    "context.updated": "A new context version became active (global or for a task).",
    "artifact.created": "An artifact was uploaded or registered.",
    "artifact.validated": "An artifact was validated: valid or invalid, with a report.",
    "artifact.updated": "An artifact's metadata changed.",
    "artifact.deleted": "An artifact was deleted.",
    "job.queued": "A planning job was queued (or queued again after its worker stopped).",
    "job.running": "A worker started an attempt of a job.",
    "job.progress": "A running job reported a step (asking the model, repairing, writing).",
    "job.done": "A job finished; a proposal or revision job names the version it wrote.",
    "job.failed": "A job failed; nothing was written; the error says why.",
    "job.cancelled": "A job was cancelled; nothing was written.",
}


class CloseCode(IntEnum):
    """Why the server closed an events WebSocket; docs/events.md says what a client does about each."""

    GOING_AWAY = 1001  # the server is shutting down: reconnect (to another process) with the last seq
    INTERNAL_ERROR = 1011  # an unexpected failure: reconnect with backoff and the last seq
    BAD_REQUEST = 4400  # `after` malformed, negative or beyond the newest event: fix the request
    UNAUTHORIZED = 4401  # no credentials, or a token that is unknown, revoked or expired
    FORBIDDEN = 4403  # the caller may not see this project (or this stream), or a foreign Origin
    NOT_FOUND = 4404  # no such project, or it was just deleted: stop
    TOO_SLOW = 4408  # the client fell too far behind: reconnect with the last seq
    TOO_MANY_CONNECTIONS = 4429  # this token (or the local user) holds too many open WebSockets: close one
    HISTORY_GONE = 4410  # events after `after` are no longer kept: reload the state, then resubscribe


PENDING = "gateway.pending_events"
POSITION_FLOOR = "gateway.position_floor"
# Serializes the insert-and-commit of event rows on PostgreSQL, so that positions commit in order.
_POSITION_LOCK = 0x6761_7465_7761_7901


class EventRead(BaseModel):
    """The event envelope, as stored, served over HTTP and pushed over WebSocket."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "seq": 12,
                    "position": 345,
                    "id": "5b0c7f2e9d0a4e4c8f3b1a2d6e7f8091",
                    "type": "plan.accepted",
                    "project_id": "star-courier",
                    "data": {"plan_id": 3, "version": 2},
                    "actor": "user",
                    "principal": "user:ada",
                    "token_id": 3,
                    "correlation_id": "9f0c1d7e4b2a4c6f8e1d2c3b4a5f6e7d",
                    "created_at": "2026-11-25T10:00:00Z",
                }
            ]
        },
    )

    seq: int = Field(description="Per-project sequence number: strictly increasing, without gaps")
    position: int = Field(description="Global position across all projects: the cursor of the all-projects stream")
    id: str = Field(description="Unique id, for de-duplication")
    type: str = Field(description="What happened; see the event catalogue")
    project_id: str
    data: dict[str, Any]
    actor: str | None = Field(default=None, description="user, ai, agent:<id> or system")
    principal: str | None = Field(
        default=None, description="Who asked for it: user:<name> or agent:<name> (null: the gateway itself)"
    )
    token_id: int | None = Field(default=None, description="Id of the token that request used (never the token)")
    correlation_id: str | None = Field(default=None, description="X-Request-ID of the request that caused it")
    created_at: datetime

    @classmethod
    def from_row(cls, row: EventDB) -> "EventRead":
        """The envelope of a stored event."""
        return cls(
            seq=row.seq,
            position=row.id or 0,
            id=row.event_id,
            type=row.type,
            project_id=row.project_id,
            data=row.data,
            actor=row.actor,
            principal=row.principal,
            token_id=row.token_id,
            correlation_id=row.correlation_id,
            created_at=row.created_at,
        )


def _next_seq(newest: Any) -> Any:
    # Executed on the connection: plain Core, whatever the entity it names.
    return (
        update(ProjectDB)
        .where(col(ProjectDB.id) == bindparam("project_id"))
        .values(event_seq=newest + 1)
        .returning(col(ProjectDB.event_seq))
    )


_NEXT_SEQ = _next_seq(col(ProjectDB.event_seq))
_NEXT_SEQ_AFTER_EVENTS = _next_seq(
    select(func.coalesce(func.max(EventDB.seq), 0))
    .where(col(EventDB.project_id) == bindparam("project_id"))
    .scalar_subquery()
)


def record(session: Session, *, project_id: str, type: str, data: dict[str, Any], actor: str | None = None) -> EventDB:
    """Write an event for a change made in this session's transaction; it is published after the commit."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if POSITION_FLOOR not in session.info and session.get_bind().dialect.name == "sqlite":
        # SQLite hands out max(rowid) + 1: if this transaction deletes the newest events (a project's
        # deletion), a new one would get a position a subscriber has already seen. Remember where we were.
        session.info[POSITION_FLOOR] = session.execute(select(func.max(EventDB.id))).scalar() or 0
    # A project re-created under a deleted one's id continues after its `project.deleted` event, so the
    # (project_id, seq) pairs stay unique and a subscriber of the old project sees the deletion first.
    statement = _NEXT_SEQ_AFTER_EVENTS if type == "project.created" else _NEXT_SEQ
    # The session's pending changes go first (as an ORM statement's autoflush would: a project row changed in
    # memory is written before its counter moves); then a Core statement, built once, without the ORM's
    # per-statement work, and the project in memory (if loaded) learns its new counter.
    session.flush()
    seq = session.connection().execute(statement, {"project_id": project_id}).scalar_one()
    project = session.identity_map.get(identity_key(ProjectDB, project_id))
    if project is not None:
        set_committed_value(project, "event_seq", seq)
    row = EventDB(
        event_id=uuid.uuid4().hex,
        project_id=project_id,
        seq=seq,
        type=type,
        # As a replay will read it (dates as text, a copy the caller cannot change): live and replayed events agree.
        data=EVENT_DATA.as_stored(data),
        actor=actor,
        correlation_id=correlation_id.get(),
        created_at=utc_now(),
    )
    caller = principals.current.get()
    if caller is not None:
        row.principal, row.token_id = caller.label, caller.token_id
    session.info.setdefault(PENDING, []).append(row)
    return row


def _insert(session: Session) -> None:
    rows = session.info.get(PENDING)
    if not rows:
        return
    # Everything else first (its row locks are taken now, not under the position lock), then the events.
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSITION_LOCK})
    else:  # SQLite: this transaction holds the write lock, so the positions can be chosen here
        newest = session.execute(select(func.max(EventDB.id))).scalar() or 0
        first = max(newest, session.info.pop(POSITION_FLOOR, 0)) + 1
        for offset, row in enumerate(rows):
            row.id = first + offset
    session.add_all(rows)
    session.flush()


def _release(session: Session) -> None:
    session.info.pop(POSITION_FLOOR, None)
    rows = session.info.pop(PENDING, [])
    if not rows:
        return
    envelopes = [EventRead.from_row(row) for row in rows]
    for listener in session.info.get(EVENT_LISTENERS, ()):
        try:
            listener(envelopes)
        except Exception:  # the change is committed; a failing listener must not turn it into an error
            log.exception("event listener failed", listener=repr(listener))


def _drop(session: Session, *_: Any) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(POSITION_FLOOR, None)


# Installed on every Session: sessions without recorded events pay one dict lookup per commit.
sa_event.listen(Session, "before_commit", _insert)
sa_event.listen(Session, "after_commit", _release)
sa_event.listen(Session, "after_rollback", _drop)
