"""gateway/app/services/plans.py under racing writers, on SQLite and PostgreSQL."""

import threading

from sqlmodel import select

from gateway.app.db import TaskPlanDB
from gateway.app.planner import GameBrief
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import plans, projects


def test_racing_proposals_get_contiguous_unique_versions_and_all_stay_open(db):
    brief = GameBrief(title="Race", genre="racing", engine="godot")
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="race", name="Race", brief=brief))
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def propose() -> None:
        start.wait()
        try:
            with db.get_session() as session:
                plans.propose(session=session, project_id="race")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=propose) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read_session() as session:
        versions = session.exec(select(TaskPlanDB).where(TaskPlanDB.project_id == "race")).all()
    assert sorted(v.version for v in versions) == list(range(1, 9))
    assert sorted(v.version for v in versions if v.status == "proposed") == list(range(1, 9))


def test_racing_accepts_of_two_proposals_leave_exactly_one_accepted(db):
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="two", name="Two", brief=GameBrief(genre="puzzle")))
        plans.propose(session=session, project_id="two")
        plans.revise(
            session=session,
            project_id="two",
            version=1,
            feedback=plans.Feedback.model_validate(
                {"text": "b", "edits": [{"op": "edit", "code": "T-001", "changes": {"priority": 1}}]}
            ),
        )
        plans.revise(
            session=session,
            project_id="two",
            version=1,
            feedback=plans.Feedback.model_validate(
                {"text": "c", "edits": [{"op": "edit", "code": "T-001", "changes": {"priority": 1}}]}
            ),
        )
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def accept(version: int) -> None:
        start.wait()
        try:
            with db.get_session() as session:
                plans.accept(session=session, project_id="two", version=version)
            outcomes.append("accepted")
        except plans.Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=accept, args=(version,)) for version in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.read_session() as session:
        statuses = sorted((p.version, p.status) for p in session.exec(select(TaskPlanDB)))
    # both proposals were open: whichever accept came first won, and the other version was superseded by it
    assert sorted(outcomes) == ["accepted", "refused"]
    assert statuses[0] == (1, "superseded")
    assert sorted(status for _version, status in statuses[1:]) == ["accepted", "superseded"]
