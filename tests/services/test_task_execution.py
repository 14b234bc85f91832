"""gateway/app/services/task_execution.py: claims, leases, transitions, deliverables and completion."""

import json
import threading

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from gateway.app import task_states
from gateway.app.db import ArtifactDB, EventDB, ProjectDB, TaskDB
from gateway.app.errors import Conflict, DeliverablesMissing, IllegalTransition, InvalidInput
from gateway.app.planner import GameBrief
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import contexts, plans, projects, task_execution


@pytest.fixture
def project(db):
    brief = GameBrief(title="Puzzle Box", genre="puzzle", engine="phaser", features=[])
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="pz", name="Puzzle Box", brief=brief))
        plans.propose(session=session, project_id="pz")
        plans.accept(session=session, project_id="pz", version=1)
    return "pz"


def plan_tasks(db, project_id="pz") -> list[TaskDB]:
    with db.read_session() as session:
        active = plans.active(session=session, project_id=project_id)
        return plans.tasks_of(session=session, plan=active)


def hand_in(db, task: TaskDB) -> None:
    """What an agent's uploads leave behind: one valid artifact per deliverable."""
    with db.get_session() as session:
        for deliverable in json.loads(task.deliverables or "[]"):
            session.add(
                ArtifactDB(
                    project_id=task.project_id,
                    task_id=task.id,
                    name=deliverable["name"].rsplit("/", 1)[-1],
                    path=deliverable["name"],
                    category=deliverable["category"],
                    validation_status="valid",
                )
            )
        session.commit()


def work(db, task: TaskDB, agent: str = "a1") -> TaskDB:
    with db.get_session() as session:
        task_execution.start(session=session, project_id=task.project_id, task_id=task.id, agent_id=agent)
    hand_in(db, task)
    with db.get_session() as session:
        return task_execution.complete(
            session=session, project_id=task.project_id, task_id=task.id, summary=f"did {task.code}", agent_id=agent
        )


def test_claim_next_takes_the_highest_priority_ready_task(db, project):
    tasks = plan_tasks(db)
    ready = task_states.ready_tasks(tasks, by_priority=True)
    with db.get_session() as session:
        claimed = task_execution.claim_next(session=session, project_id=project, agent_id="a1")
    assert claimed.id == ready[0].id
    assert claimed.claimed_by == "a1"
    assert claimed.lease_expires_at is not None
    assert all(not task_states.dependency_codes(t) or t.id != claimed.id for t in tasks if t.code != ready[0].code)


def test_racing_agents_never_get_the_same_task(db, project):
    claimed: list[int | None] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(12)

    def agent(n: int) -> None:
        barrier.wait()
        try:
            with db.get_session() as session:
                task = task_execution.claim_next(session=session, project_id=project, agent_id=f"agent-{n}")
                claimed.append(task.id if task else None)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    got = [task_id for task_id in claimed if task_id is not None]
    assert len(got) == len(set(got))
    ready_count = len(task_states.ready_tasks(plan_tasks(db)))  # claimed tasks stay pending: count them back
    with db.read_session() as session:
        holders = session.exec(select(TaskDB).where(TaskDB.project_id == project, TaskDB.claimed_by.is_not(None))).all()
    assert len(holders) == len(got) == min(12, ready_count)


def test_a_claimed_task_is_not_handed_to_anyone_else_until_the_lease_expires(db, project, clock):
    with db.get_session() as session:
        first = task_execution.claim_next(session=session, project_id=project, agent_id="a1", lease_seconds=60)
    clock.shift(59)
    with db.get_session() as session, pytest.raises(Conflict, match="claimed by a1"):
        task_execution.claim(session=session, project_id=project, task_id=first.id, agent_id="a2")
    clock.shift(2)
    with db.get_session() as session:
        again = task_execution.claim(session=session, project_id=project, task_id=first.id, agent_id="a2")
    assert again.claimed_by == "a2"
    with db.read_session() as session:
        expired = session.exec(select(EventDB).where(EventDB.type == "task.lease_expired")).all()
    assert len(expired) == 1


def test_an_expired_lease_returns_a_started_task_to_pending(db, project, clock):
    with db.get_session() as session:
        task = task_execution.claim_next(session=session, project_id=project, agent_id="a1", lease_seconds=60)
        task_execution.start(session=session, project_id=project, task_id=task.id, agent_id="a1", lease_seconds=60)
    clock.shift(61)
    with db.get_session() as session:
        task_execution.claim_next(session=session, project_id=project, agent_id="a2")
        reaped = session.get(TaskDB, task.id)
    assert reaped.status in ("pending",) or reaped.claimed_by == "a2"
    assert reaped.started_at is None or reaped.claimed_by == "a2"


def test_renewing_a_claim_extends_the_lease(db, project):
    with db.get_session() as session:
        task = task_execution.claim_next(session=session, project_id=project, agent_id="a1", lease_seconds=60)
        first_expiry = task.lease_expires_at
        renewed = task_execution.claim(
            session=session, project_id=project, task_id=task.id, agent_id="a1", lease_seconds=600
        )
    assert renewed.lease_expires_at > first_expiry


def test_release_gives_the_task_back(db, project):
    with db.get_session() as session:
        task = task_execution.claim_next(session=session, project_id=project, agent_id="a1")
        with pytest.raises(Conflict):
            task_execution.release(session=session, project_id=project, task_id=task.id, agent_id="a2")
        released = task_execution.release(session=session, project_id=project, task_id=task.id, agent_id="a1")
    assert released.claimed_by is None
    with db.get_session() as session:
        assert task_execution.claim_next(session=session, project_id=project, agent_id="a2").id == task.id


def test_illegal_transitions_name_the_current_status(db, project):
    task = task_states.ready_tasks(plan_tasks(db))[0]
    with db.get_session() as session:
        with pytest.raises(IllegalTransition) as caught:
            task_execution.complete(session=session, project_id=project, task_id=task.id, summary="x")
        assert caught.value.extensions["current_status"] == "pending"
        with pytest.raises(IllegalTransition):
            task_execution.approve(session=session, project_id=project, task_id=task.id)
        with pytest.raises(IllegalTransition):
            task_execution.unblock(session=session, project_id=project, task_id=task.id)
        with pytest.raises(IllegalTransition):
            task_execution.reopen(session=session, project_id=project, task_id=task.id)
        with pytest.raises(InvalidInput):
            task_execution.claim(session=session, project_id=project, task_id=task.id, agent_id="a", lease_seconds=0)


def test_a_task_waiting_on_dependencies_cannot_be_claimed_or_started(db, project):
    waiting = next(t for t in plan_tasks(db) if task_states.dependency_codes(t))
    with db.get_session() as session:
        with pytest.raises(Conflict, match="waits on"):
            task_execution.claim(session=session, project_id=project, task_id=waiting.id, agent_id="a1")
        with pytest.raises(Conflict, match="waits on"):
            task_execution.start(session=session, project_id=project, task_id=waiting.id)


def test_completion_needs_every_required_deliverable(db, project):
    task = next(t for t in task_states.ready_tasks(plan_tasks(db)) if json.loads(t.deliverables or "[]"))
    with db.get_session() as session:
        task_execution.start(session=session, project_id=project, task_id=task.id, agent_id="a1")
        with pytest.raises(DeliverablesMissing) as caught:
            task_execution.complete(session=session, project_id=project, task_id=task.id, summary="done", agent_id="a1")
    required = [d for d in json.loads(task.deliverables) if d.get("required", True)]
    assert len(caught.value.extensions["missing"]) == len(required)
    with db.read_session() as session:
        assert session.get(TaskDB, task.id).status == "in_progress"  # refused, nothing changed
    hand_in(db, task)
    with db.get_session() as session:
        done = task_execution.complete(
            session=session, project_id=project, task_id=task.id, summary="done", agent_id="a1"
        )
    assert (done.status, done.summary) == ("done", "done")
    assert done.completed_at is not None
    assert done.claimed_by is None


def test_starting_generates_the_task_context_and_completing_moves_the_global_one(db, project):
    tasks = plan_tasks(db)
    first = task_states.ready_tasks(tasks)[0]
    with db.get_session() as session:
        global_before = contexts.get_active(session=session, project_id=project).version
    work(db, first)
    dependent = next(t for t in tasks if first.code in task_states.dependency_codes(t))
    for code in task_states.dependency_codes(dependent):
        other = next(t for t in plan_tasks(db) if t.code == code)
        if other.status != "done":
            work(db, other)
    with db.get_session() as session:
        task_execution.start(session=session, project_id=project, task_id=dependent.id, agent_id="a1")
        task_context = contexts.content_of(
            contexts.get_active(session=session, project_id=project, task_id=dependent.id)
        )
        global_after = contexts.get_active(session=session, project_id=project)
        # Progress is computed when the context is read, not stored with each completion.
        progress = contexts.current_content(session, global_after)["progress"]
    assert task_context["task"]["code"] == dependent.code
    deps = {d["code"]: d for d in task_context["dependencies"]}
    assert deps[first.code]["summary"] == f"did {first.code}"
    assert deps[first.code]["artifacts"]
    assert global_after.version > global_before
    assert first.code in [d["code"] for d in progress["done"]]


def test_review_then_approve_when_the_project_asks_for_it(db, project):
    with db.get_session() as session:
        project_row = session.get(ProjectDB, project)
        project_row.require_review = True
        session.add(project_row)
        session.commit()
    task = task_states.ready_tasks(plan_tasks(db))[0]
    submitted = work(db, task)
    assert submitted.status == "review"
    with db.get_session() as session:
        approved = task_execution.approve(session=session, project_id=project, task_id=task.id)
    assert approved.status == "done"


def test_block_and_unblock(db, project):
    task = task_states.ready_tasks(plan_tasks(db))[0]
    with db.get_session() as session:
        task_execution.claim(session=session, project_id=project, task_id=task.id, agent_id="a1")
        blocked = task_execution.block(
            session=session, project_id=project, task_id=task.id, reason="no art", agent_id="a1"
        )
        assert (blocked.status, blocked.blocked_reason, blocked.claimed_by) == ("blocked", "no art", None)
        with pytest.raises(IllegalTransition):
            task_execution.start(session=session, project_id=project, task_id=task.id)
        unblocked = task_execution.unblock(session=session, project_id=project, task_id=task.id)
        assert (unblocked.status, unblocked.blocked_reason) == ("pending", None)


def test_finishing_every_task_completes_the_project_and_reopening_undoes_it(db, project):
    while True:
        ready = task_states.ready_tasks(plan_tasks(db))
        if not ready:
            break
        work(db, ready[0])
    with db.read_session() as session:
        finished = session.get(ProjectDB, project)
    assert finished.status == "completed"
    assert finished.current_task_id is None
    last = max(plan_tasks(db), key=lambda t: t.idx)
    with db.get_session() as session:
        task_execution.reopen(session=session, project_id=project, task_id=last.id, reason="bug")
        reopened = session.get(ProjectDB, project)
        assert reopened.status == "active"
        assert reopened.current_task_id == last.id


def test_cancelled_dependencies_no_longer_hold_anything_up(db, project):
    tasks = plan_tasks(db)
    first = task_states.ready_tasks(tasks)[0]
    with db.get_session() as session:
        task_execution.cancel(session=session, project_id=project, task_id=first.id, reason="not needed")
        with pytest.raises(IllegalTransition):
            task_execution.cancel(session=session, project_id=project, task_id=first.id)
    now_ready = {t.code for t in task_states.ready_tasks(plan_tasks(db))}
    assert any(first.code in task_states.dependency_codes(t) for t in tasks if t.code in now_ready)


def test_tasks_of_a_superseded_plan_cannot_be_worked_on(db, project):
    old_task = task_states.ready_tasks(plan_tasks(db))[0]
    with db.get_session() as session:
        plans.revise(
            session=session,
            project_id=project,
            version=1,
            feedback=plans.Feedback.model_validate(
                {"text": "again", "edits": [{"op": "edit", "code": "T-001", "changes": {"priority": 1}}]}
            ),
        )
        plans.accept(session=session, project_id=project, version=2)
        with pytest.raises(Conflict, match="not to the accepted plan"):
            task_execution.start(session=session, project_id=project, task_id=old_task.id)


def test_checks_after_the_lock_see_what_other_writers_committed(db, project):
    """A session that read a task before another agent claimed it must not claim it too."""
    task = task_states.ready_tasks(plan_tasks(db))[0]
    with db.get_session() as late:
        seen = late.get(TaskDB, task.id)  # read (and cached) before the other agent's claim
        assert seen.claimed_by is None
        late.commit()  # the row stays in the session's identity map (expire_on_commit=False)
        with db.get_session() as first:
            task_execution.claim(session=first, project_id=project, task_id=task.id, agent_id="first")
        with pytest.raises(Conflict, match="claimed by first"):
            task_execution.claim(session=late, project_id=project, task_id=task.id, agent_id="late")
    with db.read_session() as session:
        assert session.get(TaskDB, task.id).claimed_by == "first"


def test_claim_and_start_are_one_transaction_and_move_the_current_task(db, project):
    tasks = plan_tasks(db)
    first = task_states.ready_tasks(tasks)[0]
    with db.get_session() as session:
        assert session.get(ProjectDB, project).current_task_id == first.id
        claimed = task_execution.claim(session=session, project_id=project, task_id=first.id, agent_id="a1", start=True)
        assert claimed.status == "in_progress"
        current = session.get(ProjectDB, project).current_task_id
    assert current != first.id  # the current task is one nobody holds
    with db.read_session() as session:
        assert contexts.get_active(session=session, project_id=project, task_id=first.id).version == 1


def test_long_summaries_never_make_completion_impossible(db, project):
    """The gateway's own context updates stay small: a plan finishes whatever agents write."""
    long_summary = "x" * 20_000
    while ready := task_states.ready_tasks(plan_tasks(db)):
        task = ready[0]
        with db.get_session() as session:
            task_execution.start(session=session, project_id=project, task_id=task.id, agent_id="a1")
        hand_in(db, task)
        with db.get_session() as session:
            task_execution.complete(
                session=session, project_id=project, task_id=task.id, summary=long_summary, agent_id="a1"
            )
    with db.read_session() as session:
        assert session.get(ProjectDB, project).status == "completed"
        progress = contexts.current_content(session, contexts.get_active(session=session, project_id=project))[
            "progress"
        ]
    assert progress["done_count"] == len(plan_tasks(db)) == len(progress["done_codes"])
    assert all(len(item["summary"]) <= contexts.SUMMARY_CHARS for item in progress["done"])


def test_a_claim_that_leaves_the_current_task_as_it_is_looks_nothing_up_plan_wide(db, project):
    # Issue 15: the current task is the first ready one; taking another out of the ready set changes neither it
    # nor the project's status, so neither the next-ready lookup nor the open-tasks check runs.
    current_id = projects_current(db)
    ready = [t for t in task_states.ready_tasks(plan_tasks(db)) if t.id != current_id]
    if not ready:
        pytest.skip("the template's plan starts with one ready task")
    statements: list[str] = []

    def on_statement(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", on_statement)
    try:
        with db.get_session() as session:
            task_execution.claim(session=session, project_id=project, task_id=ready[0].id, agent_id="a1")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", on_statement)
    assert not [s for s in statements if "ORDER BY tasks.idx" in s or "NOT IN" in s]
    assert projects_current(db) == current_id
    # Claiming the current task does move it, to the next ready one.
    with db.get_session() as session:
        task_execution.claim(session=session, project_id=project, task_id=current_id, agent_id="a2")
    assert projects_current(db) not in (current_id, ready[0].id)


def projects_current(db, project_id="pz") -> int | None:
    with db.read_session() as session:
        return session.get(ProjectDB, project_id).current_task_id
