"""Idempotency keys: a request repeated with the same key gets the first response, and changes nothing."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from gateway.app.db import DatabaseManager, IdempotencyKeyDB, utc_now
from gateway.app.errors import Conflict, InvalidInput

KEEP_FOR = timedelta(hours=24)  # like Stripe: a key is remembered for a day
# A key whose request has not answered after this long lost its request (a crash, a kill -9): a repeat takes it
# over instead of hearing "still in progress" until the day is out. Requests are short (uploads take no key, slow
# planning runs as a job), so a live request never holds its key this long.
IN_FLIGHT_LEASE = timedelta(minutes=2)


class KeyReused(InvalidInput):
    """This Idempotency-Key was first used for a different request (method, path or body)."""

    status, slug, title = 422, "idempotency-key-reused", "Idempotency key reused"


@dataclass(frozen=True)
class Stored:
    """A first response, to replay."""

    status_code: int
    headers: dict[str, str]
    body: bytes


def begin(
    db: DatabaseManager,
    *,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    lease: timedelta = IN_FLIGHT_LEASE,
) -> Stored | None:
    """The stored response for a repeat; None (and the key taken) for a first request, or for a repeat of one
    that never answered within `lease` (its request died with its process)."""
    with db.get_session() as session:
        row = session.get(IdempotencyKeyDB, key)
        now = utc_now()
        expired = row is not None and (
            row.created_at < now - KEEP_FOR or (row.status_code is None and row.created_at < now - lease)
        )
        if expired:
            session.delete(row)
            session.flush()
            row = None
        if row is not None:
            if (row.method, row.path, row.fingerprint) != (method, path, fingerprint):
                raise KeyReused(
                    f"Idempotency-Key {key!r} was used for {row.method} {row.path} with another body.",
                    errors=[{"loc": ["header", "Idempotency-Key"], "msg": "used for another request", "type": "reuse"}],
                )
            if row.status_code is None:
                raise Conflict(f"A request with Idempotency-Key {key!r} is still in progress; retry shortly.")
            return Stored(row.status_code, row.response_headers or {}, row.response_body or b"")
        session.add(IdempotencyKeyDB(key=key, method=method, path=path, fingerprint=fingerprint))
        try:
            session.commit()
        except IntegrityError:
            raise Conflict(f"A request with Idempotency-Key {key!r} is still in progress; retry shortly.") from None
    return None


def finish(db: DatabaseManager, *, key: str, status_code: int, headers: dict[str, str], body: bytes) -> None:
    """Remember the first response; a server error is forgotten, so that the client may retry."""
    with db.get_session() as session:
        row = session.get(IdempotencyKeyDB, key)
        if row is None:
            return
        if status_code >= 500:
            session.delete(row)
        else:
            row.status_code = status_code
            row.response_headers = headers
            row.response_body = body
            session.add(row)
        session.commit()


def abandon(db: DatabaseManager, *, key: str) -> None:
    """Forget a key whose request failed before it answered."""
    with db.get_session() as session:
        session.exec(delete(IdempotencyKeyDB).where(col(IdempotencyKeyDB.key) == key))
        session.commit()


def purge(db: DatabaseManager, *, lease: timedelta = IN_FLIGHT_LEASE) -> int:
    """Forget keys older than a day, and keys whose request never answered within the lease."""
    now = utc_now()
    stale = (col(IdempotencyKeyDB.created_at) < now - KEEP_FOR) | (
        col(IdempotencyKeyDB.status_code).is_(None) & (col(IdempotencyKeyDB.created_at) < now - lease)
    )
    with db.get_session() as session:
        result = session.exec(delete(IdempotencyKeyDB).where(stale))
        session.commit()
        return result.rowcount or 0
