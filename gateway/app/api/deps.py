"""Dependencies the routers share: sessions, paging parameters."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlmodel import Session

from gateway.app.db import DatabaseManager
from gateway.app.services.common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from gateway.app.storage import BlobStore


def get_db(request: Request) -> DatabaseManager:
    """The app's DatabaseManager."""
    return request.app.state.db


def _session(db: Annotated[DatabaseManager, Depends(get_db)]) -> Iterator[Session]:
    with db.get_session() as session:
        yield session


def _read_session(db: Annotated[DatabaseManager, Depends(get_db)]) -> Iterator[Session]:
    with db.read_session() as session:
        yield session


def get_store(request: Request) -> BlobStore:
    """The app's artifact blob store."""
    return request.app.state.store


DbDep = Annotated[DatabaseManager, Depends(get_db)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
SessionDep = Annotated[Session, Depends(_session)]
ReadSessionDep = Annotated[Session, Depends(_read_session)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page", max_length=512)]
DEFAULT_LIMIT = DEFAULT_PAGE_SIZE
