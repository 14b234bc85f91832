"""gateway/app/outbox.py: the outbox records with the change and releases only after the commit."""

import threading
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from gateway.app import outbox
from gateway.app.db import EventDB, ProjectDB


@pytest.fixture
def project(db):
    with db.get_session() as session:
        session.add(ProjectDB(id="p", name="P"))
        session.commit()
    return "p"


@pytest.fixture
def published(db):
    received: list = []
    db.event_listeners.append(received.extend)
    return received


def test_events_get_gap_free_seqs_and_are_published_after_commit(db, project, published):
    with db.get_session() as session:
        outbox.record(session, project_id=project, type="project.updated", data={"n": 1}, actor="user")
        outbox.record(session, project_id=project, type="project.updated", data={"n": 2})
        assert published == []  # nothing leaves before the commit
        session.commit()
    assert [(e.seq, e.data) for e in published] == [(1, {"n": 1}), (2, {"n": 2})]
    assert published[0].actor == "user"
    assert len({e.id for e in published}) == 2
    with db.read_session() as session:
        assert session.get(ProjectDB, project).event_seq == 2


def test_a_rolled_back_change_is_never_announced(db, project, published):
    with db.get_session() as session:
        outbox.record(session, project_id=project, type="project.updated", data={})
        session.rollback()
    with db.get_session() as session:
        outbox.record(session, project_id=project, type="project.updated", data={"after": True})
        session.commit()
    assert [(e.seq, e.data) for e in published] == [(1, {"after": True})]
    with db.read_session() as session:
        assert [row.seq for row in session.exec(select(EventDB))] == [1]


def test_a_failing_listener_does_not_undo_the_commit(db, project, published):
    def broken(_events):
        raise RuntimeError("listener down")

    db.event_listeners.insert(0, broken)
    with db.get_session() as session:
        outbox.record(session, project_id=project, type="project.updated", data={})
        session.commit()
    assert len(published) == 1


def test_unknown_event_types_are_a_programming_error(db, project):
    with db.get_session() as session, pytest.raises(ValueError, match="unknown event type"):
        outbox.record(session, project_id=project, type="nope", data={})


def test_concurrent_writers_get_distinct_contiguous_seqs(db, project, published):
    def write() -> None:
        for _ in range(10):
            with db.get_session() as session:
                outbox.record(session, project_id=project, type="project.updated", data={})
                session.commit()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.read_session() as session:
        seqs = sorted(row.seq for row in session.exec(select(EventDB)))
    assert seqs == list(range(1, 41))
    assert sorted(e.seq for e in published) == seqs


def test_positions_follow_commit_order_across_projects(db, project, backend):
    """A transaction that records first but commits last still gets the later position."""
    if backend == "sqlite":
        pytest.skip("SQLite runs one writer at a time: commit order is record order")
    with db.get_session() as session:
        session.add(ProjectDB(id="q", name="Q"))
        session.commit()
    recorded, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with db.get_session() as session:
            outbox.record(session, project_id=project, type="project.updated", data={"slow": True})
            session.flush()
            recorded.set()
            release.wait(10)
            session.commit()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert recorded.wait(10)
    with db.get_session() as session:
        outbox.record(session, project_id="q", type="project.updated", data={"fast": True})
        session.commit()
    release.set()
    thread.join()
    with db.read_session() as session:
        rows = session.exec(select(EventDB).order_by(EventDB.id)).all()
    assert [row.project_id for row in rows] == ["q", project]


def test_the_envelope_carries_the_position(db, project, published):
    with db.get_session() as session:
        outbox.record(session, project_id=project, type="project.updated", data={})
        session.commit()
    with db.read_session() as session:
        row = session.exec(select(EventDB)).one()
    assert published[0].position == row.id
    assert outbox.EventRead.from_row(row) == published[0]


def test_a_deleted_project_leaves_its_last_event_at_a_fresh_position(db, published):
    """The deletion's event outlives the project's other events and never reuses a position (SQLite reuses rowids)."""
    from gateway.app.schemas.projects import ProjectCreate
    from gateway.app.services import projects

    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="gone", name="Gone"))
    with db.get_session() as session:
        outbox.record(session, project_id="gone", type="project.updated", data={})
        session.commit()
    newest = published[-1].position
    with db.get_session() as session:
        projects.delete_(session=session, project_id="gone")
    tombstone = published[-1]
    assert (tombstone.type, tombstone.seq, tombstone.data) == ("project.deleted", 4, {"name": "Gone"})
    assert tombstone.position > newest
    with db.read_session() as session:
        assert [(row.seq, row.type) for row in session.exec(select(EventDB))] == [(4, "project.deleted")]

    # The same id again: its seqs continue after the deletion, so (project, seq) stays unique.
    with db.get_session() as session:
        assert projects.create(session=session, data=ProjectCreate(id="gone", name="Again")).event_seq == 6
    created, context = published[-2:]
    assert [(e.type, e.seq) for e in (created, context)] == [("project.created", 5), ("context.updated", 6)]
    assert created.position > tombstone.position


def test_a_live_event_shows_the_payload_a_replay_reads(db, project, published):
    """The payload is taken as it will be stored: dates as text, tuples as lists, a copy the caller cannot change."""
    data = {"at": datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC), "codes": ("T-001", "T-002")}
    with db.get_session() as session:
        outbox.record(session, project_id=project, type="project.updated", data=data)
        data["codes"] = ()  # the caller reuses its dict
        session.commit()
    with db.read_session() as session:
        (stored,) = session.exec(select(EventDB).where(EventDB.project_id == project)).all()
    assert published[0].data == stored.data == {"at": "2026-12-08 01:02:03+00:00", "codes": ["T-001", "T-002"]}
