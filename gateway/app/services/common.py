"""Helpers the services share: loading rows that must exist, and paging."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Double
from sqlmodel import Session, SQLModel, func

from gateway.app.errors import NotFound
from gateway.app.jsondoc import API_INT_MAX
from gateway.app.schemas.common import ID_CURSOR, decode_cursor, encode_cursor

R = TypeVar("R", bound=SQLModel)
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None on the last)."""

    items: Sequence[T]
    next_cursor: str | None


def require(session: Session, model: type[R], key: Any, *, what: str) -> R:
    """The row with that primary key, or NotFound (an integer past any id included: no driver carries one past 64
    bits)."""
    out_of_range = isinstance(key, int) and not 1 <= key <= API_INT_MAX
    row = None if out_of_range else session.get(model, key)
    if row is None:
        raise NotFound(f"No {what} with id {key!r}.", resource=what, id=key)
    return row


def page_by_id(session: Session, statement: Any, id_column: Any, *, limit: int, cursor: str | None) -> Page[Any]:
    """Page a statement by an increasing integer id: the rows after the cursor, oldest first."""
    if cursor is not None:
        (after,) = decode_cursor(cursor, ID_CURSOR, int)
        statement = statement.where(id_column > after)
    rows = session.exec(statement.order_by(id_column).limit(limit + 1)).all()
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


def creation_key(session: Session, column: Any) -> ColumnElement[Any]:
    """A sortable, exactly comparable number for a timestamp column.

    SQLite stores timestamps as text, and rows written by older tools may use other ISO spellings
    ('T' or ' ', with or without fractions) that sort wrongly as strings; julianday() reads them all.
    """
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(column)
    return func.extract("epoch", column).cast(Double())
