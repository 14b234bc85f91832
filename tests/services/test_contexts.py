"""gateway/app/services/contexts.py under concurrent writers, on SQLite and PostgreSQL."""

import json
import threading

import pytest
from sqlalchemy import text
from sqlmodel import select

from gateway.app.db import ContextDB, ProjectDB
from gateway.app.errors import PreconditionFailed
from gateway.app.services import contexts, projects

CONTENT = {
    "game": {"title": "Race"},
    "conventions": {},
    "decisions": [],
    "constraints": [],
    "glossary": {},
    "progress": {"plan": None, "total": 0, "done": [], "in_progress": [], "next": []},
}


@pytest.fixture
def project(db):
    with db.get_session() as session:
        session.add(ProjectDB(id="race", name="Race"))
        session.commit()
        contexts.replace(session=session, project_id="race", content=CONTENT, expected_version=None)
    return "race"


def test_fifty_racing_edits_and_updates_leave_one_active_version_and_contiguous_numbers(db, project):
    outcomes: dict[str, list] = {"ok": [], "stale": [], "auto": [], "error": []}
    start = threading.Barrier(50)

    def manual_edit(n: int) -> None:
        """Like a client: read the active version, edit on top of it, and on a 412 read again and retry."""
        start.wait()
        for _attempt in range(500):
            with db.read_session() as session:
                seen = contexts.get_active(session=session, project_id=project).version
            try:
                with db.get_session() as session:
                    contexts.patch(session=session, project_id=project, patch={f"edit_{n}": n}, expected_version=seen)
                outcomes["ok"].append(n)
                return
            except PreconditionFailed as exc:
                outcomes["stale"].append((seen, exc.extensions["current_version"]))
            except Exception as exc:
                outcomes["error"].append(repr(exc))
                return
        outcomes["error"].append(f"edit {n} never landed")

    def automatic_update(n: int) -> None:
        start.wait()
        try:
            with db.get_session() as session:
                locked = projects.lock(session=session, project_id=project)
                content = contexts.content_of(contexts.get_active(session=session, project_id=project))
                contexts.append(
                    session,
                    project=locked,
                    task_id=None,
                    content=content | {f"auto_{n}": n},
                    source="ai-generate",
                    created_by="ai",
                    actor="system",
                )
                session.commit()
            outcomes["auto"].append(n)
        except Exception as exc:
            outcomes["error"].append(repr(exc))

    threads = [threading.Thread(target=manual_edit if n % 5 else automatic_update, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes["error"] == []
    assert sorted(outcomes["ok"]) == [n for n in range(50) if n % 5]
    assert len(outcomes["auto"]) == 10
    assert outcomes["stale"], "fifty writers on one key should have produced some stale edits"
    assert all(current > seen for seen, current in outcomes["stale"])
    with db.read_session() as session:
        rows = session.exec(select(ContextDB).where(ContextDB.project_id == project).order_by(ContextDB.version)).all()
    assert [row.version for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 1 + len(outcomes["ok"]) + len(outcomes["auto"])
    assert [row.version for row in rows if row.is_active] == [len(rows)]
    final = json.loads(rows[-1].content)
    for n in outcomes["ok"]:
        assert final[f"edit_{n}"] == n  # no accepted edit was lost
    for n in outcomes["auto"]:
        assert final[f"auto_{n}"] == n


def test_the_database_itself_refuses_a_second_active_version(db, project):
    with db.get_session() as session:
        active = contexts.get_active(session=session, project_id=project)
        with pytest.raises(Exception, match=r"(?i)unique"):
            session.exec(
                text(
                    "INSERT INTO contexts (project_id, scope, content, version, is_active) "
                    "VALUES ('race', 'global', '{}', :v, :a)"
                ).bindparams(v=active.version + 1, a=True)
            )


def test_the_database_itself_refuses_a_duplicate_version_number(db, project):
    with db.get_session() as session, pytest.raises(Exception, match=r"(?i)unique"):
        session.exec(
            text(
                "INSERT INTO contexts (project_id, scope, content, version, is_active) "
                "VALUES ('race', 'global', '{}', 1, :a)"
            ).bindparams(a=False)
        )
