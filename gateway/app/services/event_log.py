"""The event log: a project's events or every project's after a position, the positions, and retention."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func
from sqlmodel import Session, col, select

from gateway.app.db import EventDB, utc_now
from gateway.app.errors import HistoryGone, InvalidInput
from gateway.app.logging import get_logger
from gateway.app.outbox import EventRead
from gateway.app.services import lookups

log = get_logger(__name__)


@dataclass(frozen=True)
class EventSlice:
    """Events after a position, oldest first; `next_after` is the `after` of the next page (None: up to date)."""

    items: list[EventRead]
    head: int
    next_after: int | None


def _beyond_head(after: int, head: int, what: str) -> InvalidInput:
    return InvalidInput(
        f"`after` is {after}, beyond the newest {what} {head}: reload, then follow from the position you get.",
        errors=[{"loc": ["query", "after"], "msg": f"beyond the newest {what} {head}", "type": "after_beyond_head"}],
        head=head,
    )


def head(*, session: Session, project_id: str) -> int:
    """The seq of the project's newest event (the position its state is current as of), or NotFound."""
    return lookups.get_project(session=session, project_id=project_id).event_seq


def oldest_seq(*, session: Session, project_id: str, head: int) -> int:
    """The seq of the project's oldest kept event (head + 1 when none is kept)."""
    oldest = session.exec(select(func.min(EventDB.seq)).where(EventDB.project_id == project_id)).one()
    return head + 1 if oldest is None else oldest


def check_after(*, session: Session, project_id: str, after: int | None) -> tuple[int, int]:
    """Where a reader of the project's events starts and the project's head; refuses positions it cannot serve.

    NotFound for an unknown project, InvalidInput for `after` beyond the head, HistoryGone when events after
    `after` are no longer kept. Without `after`, reading starts at the oldest kept event.
    """
    newest = head(session=session, project_id=project_id)
    oldest = oldest_seq(session=session, project_id=project_id, head=newest)
    if after is None:
        return oldest - 1, newest
    if after > newest:
        raise _beyond_head(after, newest, "seq")
    if after < oldest - 1:
        raise HistoryGone(
            f"Events of project {project_id!r} after seq {after} are no longer kept (the oldest is {oldest}): "
            "reload the project, then follow from its event_seq.",
            oldest_seq=oldest,
            head=newest,
        )
    return after, newest


def read(*, session: Session, project_id: str, after: int, limit: int) -> list[EventRead]:
    """Up to `limit` of the project's events after seq `after`, in order; HistoryGone if one was purged meanwhile."""
    rows = session.exec(
        select(EventDB)
        .where(EventDB.project_id == project_id, EventDB.seq > after)
        .order_by(col(EventDB.seq))
        .limit(limit)
    ).all()
    if rows and rows[0].seq != after + 1:
        # Retention ran between the check and this read: the reader cannot be given a gap.
        raise HistoryGone(
            f"Events of project {project_id!r} after seq {after} are no longer kept (the oldest is {rows[0].seq}).",
            oldest_seq=rows[0].seq,
        )
    return [EventRead.from_row(row) for row in rows]


def list_(*, session: Session, project_id: str, after: int | None, limit: int) -> EventSlice:
    """A page of the project's events after seq `after` (default: from the oldest kept), oldest first."""
    start, newest = check_after(session=session, project_id=project_id, after=after)
    items = read(session=session, project_id=project_id, after=start, limit=limit)
    if items:
        newest = max(newest, items[-1].seq)
    return EventSlice(items=items, head=newest, next_after=items[-1].seq if len(items) == limit else None)


def global_head(*, session: Session) -> int:
    """The position of the newest event of any project (0 when there is none)."""
    return session.exec(select(func.max(EventDB.id))).one() or 0


def check_after_all(*, session: Session, after: int | None) -> tuple[int, int]:
    """Where a reader of every project's events starts and the global head; refuses positions it cannot serve.

    A position is gone when some project's oldest kept event had predecessors (seq > 1, not a deletion's last
    event) and lies more than one position after it: retention dropped events the reader has not seen.
    """
    newest = global_head(session=session)
    if after is None:
        return 0, newest
    if after > newest:
        raise _beyond_head(after, newest, "position")
    firsts = select(EventDB.project_id, func.min(EventDB.seq).label("seq")).group_by(col(EventDB.project_id)).subquery()
    truncated = session.exec(
        select(func.max(EventDB.id))
        .join(firsts, and_(col(EventDB.project_id) == firsts.c.project_id, col(EventDB.seq) == firsts.c.seq))
        .where(EventDB.seq > 1, EventDB.type != "project.deleted", col(EventDB.id) > after + 1)
    ).one()
    if truncated is not None:
        raise HistoryGone(
            f"Events after position {after} are no longer all kept: reload, then follow from position {newest}.",
            oldest_position=truncated,
            head=newest,
        )
    return after, newest


def read_all(*, session: Session, after: int, limit: int) -> list[EventRead]:
    """Up to `limit` events of every project after position `after`, in commit order."""
    rows = session.exec(select(EventDB).where(col(EventDB.id) > after).order_by(col(EventDB.id)).limit(limit)).all()
    return [EventRead.from_row(row) for row in rows]


def list_all(*, session: Session, after: int | None, limit: int) -> EventSlice:
    """A page of every project's events after position `after` (default: from the oldest kept), oldest first."""
    start, newest = check_after_all(session=session, after=after)
    items = read_all(session=session, after=start, limit=limit)
    if items:
        newest = max(newest, items[-1].position)
    return EventSlice(items=items, head=newest, next_after=items[-1].position if len(items) == limit else None)


def purge(
    *,
    session: Session,
    older_than: timedelta | None = None,
    keep_per_project: int | None = None,
    now: datetime | None = None,
) -> int:
    """Drop events older than `older_than` and beyond the newest `keep_per_project` of each project.

    Only a prefix of each project's events goes, and never its newest event: a project's stream never has a
    hole, and positions are never handed out twice (SQLite reuses the highest row id once it is deleted).
    Returns the number of events dropped.
    """
    newest = dict(
        session.exec(select(EventDB.project_id, func.max(EventDB.seq)).group_by(col(EventDB.project_id))).all()
    )
    cuts: dict[str, int] = {}
    if keep_per_project is not None:
        cuts = {project_id: seq - keep_per_project for project_id, seq in newest.items()}
    if older_than is not None:
        cutoff = (now or utc_now()) - older_than
        old = session.exec(
            select(EventDB.project_id, func.max(EventDB.seq))
            .where(EventDB.created_at < cutoff)
            .group_by(col(EventDB.project_id))
        ).all()
        for project_id, seq in old:
            cuts[project_id] = max(cuts.get(project_id, 0), seq)
    dropped = 0
    for project_id, wanted in sorted(cuts.items()):
        cut = min(wanted, newest[project_id] - 1)
        if cut >= 1:
            result = cast(
                CursorResult[Any],
                session.execute(delete(EventDB).where(col(EventDB.project_id) == project_id, col(EventDB.seq) <= cut)),
            )
            dropped += result.rowcount
    session.commit()
    if dropped:
        log.info("events purged", dropped=dropped, projects=len(cuts))
    return dropped
