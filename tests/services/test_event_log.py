"""gateway/app/services/event_log.py: reading the event log after a position, and retention."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from gateway.app import outbox
from gateway.app.db import EventDB, utc_now
from gateway.app.errors import HistoryGone, InvalidInput, NotFound
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import event_log, projects


def make_project(db, project_id: str, changes: int = 0) -> None:
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id=project_id, name=project_id.title()))
    for n in range(changes):
        with db.get_session() as session:
            outbox.record(session, project_id=project_id, type="project.updated", data={"n": n})
            session.commit()


def test_a_project_s_events_come_in_pages_after_a_seq(db):
    make_project(db, "p", changes=3)  # seqs 1..5: created, context, 3 updates
    with db.read_session() as session:
        first = event_log.list_(session=session, project_id="p", after=None, limit=2)
        assert [e.seq for e in first.items] == [1, 2]
        assert (first.head, first.next_after) == (5, 2)
        second = event_log.list_(session=session, project_id="p", after=first.next_after, limit=2)
        assert [e.seq for e in second.items] == [3, 4]
        last = event_log.list_(session=session, project_id="p", after=second.next_after, limit=2)
        assert [e.seq for e in last.items] == [5]
        assert last.next_after is None
        assert event_log.list_(session=session, project_id="p", after=5, limit=2).items == []
        assert event_log.head(session=session, project_id="p") == 5


def test_reading_refuses_unknown_projects_and_positions_beyond_the_head(db):
    make_project(db, "p", changes=1)
    with db.read_session() as session:
        with pytest.raises(NotFound):
            event_log.list_(session=session, project_id="nope", after=None, limit=10)
        with pytest.raises(InvalidInput) as refused:
            event_log.list_(session=session, project_id="p", after=4, limit=10)
        assert refused.value.extensions["head"] == 3
        with pytest.raises(InvalidInput):
            event_log.list_all(session=session, after=99, limit=10)


def test_every_project_s_events_come_in_commit_order(db):
    make_project(db, "a", changes=1)
    make_project(db, "b", changes=1)
    with db.get_session() as session:
        outbox.record(session, project_id="a", type="project.updated", data={})
        session.commit()
    with db.read_session() as session:
        page = event_log.list_all(session=session, after=None, limit=10)
        assert [(e.project_id, e.seq) for e in page.items] == [
            ("a", 1),
            ("a", 2),
            ("a", 3),
            ("b", 1),
            ("b", 2),
            ("b", 3),
            ("a", 4),
        ]
        positions = [e.position for e in page.items]
        assert positions == sorted(positions)
        assert page.head == positions[-1] == event_log.global_head(session=session)
        after_two = event_log.list_all(session=session, after=positions[1], limit=2)
        assert [e.position for e in after_two.items] == positions[2:4]
        assert after_two.next_after == positions[3]


def test_retention_keeps_the_newest_events_of_each_project(db):
    make_project(db, "busy", changes=9)  # seqs 1..11
    make_project(db, "quiet")  # seqs 1..2
    with db.get_session() as session:
        assert event_log.purge(session=session, keep_per_project=3) == 8
    with db.read_session() as session:
        kept = session.exec(select(EventDB.project_id, EventDB.seq).order_by(EventDB.id)).all()
        assert kept == [("busy", 9), ("busy", 10), ("busy", 11), ("quiet", 1), ("quiet", 2)]
        assert event_log.oldest_seq(session=session, project_id="busy", head=11) == 9
        # Up to date, or missing nothing that is still kept: fine.
        assert event_log.check_after(session=session, project_id="busy", after=8) == (8, 11)
        with pytest.raises(HistoryGone) as gone:
            event_log.check_after(session=session, project_id="busy", after=7)
        assert gone.value.status == 410
        assert gone.value.extensions == {"oldest_seq": 9, "head": 11}
        # Without `after`, reading starts at the oldest kept event.
        assert [e.seq for e in event_log.list_(session=session, project_id="busy", after=None, limit=10).items] == [
            9,
            10,
            11,
        ]


def test_retention_by_age_drops_a_prefix_and_never_a_project_s_newest_event(db):
    make_project(db, "old", changes=3)  # seqs 1..5
    make_project(db, "new", changes=1)  # seqs 1..3
    long_ago = utc_now() - timedelta(days=30)
    with db.get_session() as session:
        session.exec(update(EventDB).where(EventDB.project_id == "old").values(created_at=long_ago))
        session.exec(update(EventDB).where(EventDB.project_id == "new", EventDB.seq == 1).values(created_at=long_ago))
        session.commit()
    with db.get_session() as session:
        assert event_log.purge(session=session, older_than=timedelta(days=7)) == 5
    with db.read_session() as session:
        kept = session.exec(select(EventDB.project_id, EventDB.seq).order_by(EventDB.id)).all()
        assert kept == [("old", 5), ("new", 2), ("new", 3)]
    with db.get_session() as session:
        assert event_log.purge(session=session, older_than=timedelta(days=7), keep_per_project=5) == 0


def test_the_all_projects_stream_knows_when_retention_dropped_what_a_reader_missed(db):
    make_project(db, "a", changes=4)  # positions 1..6
    make_project(db, "b", changes=1)  # positions 7..9
    with db.get_session() as session:
        event_log.purge(session=session, keep_per_project=3)  # drops a:1..3, keeps all of b
    with db.read_session() as session:
        oldest_a = session.exec(select(EventDB.id).where(EventDB.project_id == "a", EventDB.seq == 4)).one()
        assert event_log.check_after_all(session=session, after=oldest_a - 1) == (oldest_a - 1, 9)
        with pytest.raises(HistoryGone) as gone:
            event_log.check_after_all(session=session, after=oldest_a - 2)
        assert gone.value.extensions["head"] == 9
        assert event_log.check_after_all(session=session, after=None) == (0, 9)


def test_a_deleted_project_does_not_count_as_lost_history(db):
    make_project(db, "a", changes=2)
    make_project(db, "b")
    with db.get_session() as session:
        projects.delete_(session=session, project_id="a")
    with db.read_session() as session:
        page = event_log.list_all(session=session, after=0, limit=10)
        assert [(e.project_id, e.type) for e in page.items] == [
            ("b", "project.created"),
            ("b", "context.updated"),
            ("a", "project.deleted"),
        ]


def test_a_purge_racing_a_reader_is_reported_not_skipped(db):
    make_project(db, "p", changes=5)  # seqs 1..7
    with db.get_session() as session:
        event_log.purge(session=session, keep_per_project=2)  # drops 1..5
    with db.read_session() as session, pytest.raises(HistoryGone) as gone:
        event_log.read(session=session, project_id="p", after=1, limit=10)
    assert gone.value.extensions["oldest_seq"] == 6
