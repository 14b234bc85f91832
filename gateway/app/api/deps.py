"""Dependencies the routers share: sessions, paging parameters, the caller.

Each is `async def`: none of them blocks (a session connects on its first statement, inside the endpoint), and
FastAPI runs a sync dependency in a worker thread, one hand-off each way per request (a generator: two). The sync
endpoint is then the request's only trip to the thread pool.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Query, Request
from sqlmodel import Session

from gateway.app.auth import policy, tokens
from gateway.app.auth.gate import PRINCIPAL
from gateway.app.auth.principal import Principal
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.errors import Unauthorized
from gateway.app.schemas.common import ID_CURSOR, KEY_CURSOR, TIME_CURSOR
from gateway.app.services.common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from gateway.app.storage import BlobStore


async def get_db(request: Request) -> DatabaseManager:
    """The app's DatabaseManager."""
    return request.app.state.db


async def _closed(session: Session) -> None:
    # A sync endpoint closes its sessions in its own thread (routing.closing_sessions): nothing left to do here.
    # One still holding a connection (an async endpoint's) is closed in a worker thread: a rollback is I/O.
    if session.in_transaction():
        await anyio.to_thread.run_sync(session.close)
    else:
        session.close()


async def _session(db: Annotated[DatabaseManager, Depends(get_db)]) -> AsyncIterator[Session]:
    session = db.new_session()
    try:
        yield session
    finally:
        await _closed(session)


async def _read_session(db: Annotated[DatabaseManager, Depends(get_db)]) -> AsyncIterator[Session]:
    session = db.new_read_session()
    try:
        yield session
    finally:
        await _closed(session)


async def get_store(request: Request) -> BlobStore:
    """The app's artifact blob store."""
    return request.app.state.store


async def get_app_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


def wake_worker(request: Request) -> None:
    """Tell this process's job worker that a job was just queued (it would find it at its next poll anyway)."""
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DbDep = Annotated[DatabaseManager, Depends(get_db)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
SessionDep = Annotated[Session, Depends(_session)]
ReadSessionDep = Annotated[Session, Depends(_read_session)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
_CURSOR_HELP = "`next_cursor` of the previous page (any cursor of this pattern names a position)"
Cursor = Annotated[str | None, Query(description=_CURSOR_HELP, max_length=512, pattern=ID_CURSOR)]
KeyCursor = Annotated[str | None, Query(description=_CURSOR_HELP, max_length=512, pattern=KEY_CURSOR)]
TimeCursor = Annotated[str | None, Query(description=_CURSOR_HELP, max_length=512, pattern=TIME_CURSOR)]
DEFAULT_LIMIT = DEFAULT_PAGE_SIZE


async def get_caller(request: Request) -> Principal:
    """The principal the request acts as (the gate already refused anyone who may not call the route)."""
    principal = request.scope.get(PRINCIPAL)
    if principal is None:
        raise Unauthorized("A token is required: send `Authorization: Bearer <token>`.")
    return principal


CallerDep = Annotated[Principal, Depends(get_caller)]


def acting_agent(db: DatabaseManager, caller: Principal, given: str | None) -> str | None:
    """The agent a task action is taken under: the token's; a given `agent_id` must match it."""

    def has_tokens(name: str) -> bool:
        with db.read_session() as session:
            return tokens.agent_has_tokens(session, name)

    return policy.acting_agent(caller, given, agent_has_tokens=has_tokens)


def authorship(caller: Principal) -> dict[str, Any]:
    """How a context version written by the caller is labelled: an agent's is `ai-generate`."""
    if caller.is_agent:
        return {"source": "ai-generate", "created_by": "ai", "actor": caller.label}
    return {"source": "manual-edit", "created_by": "user", "actor": "user"}


def visibility(caller: Principal) -> dict[str, Any]:
    """The filter of the projects the caller may see (none for administrators)."""
    if caller.sees_all_projects:
        return {}
    if caller.is_agent:
        return {"only": caller.projects}
    return {"member_id": caller.id if caller.id is not None else -1}
