"""Task execution: claims with leases, transitions with rules, deliverable checks and project completion.

    pending ──claim──▶ pending (claimed) ──start──▶ in_progress ──complete──▶ review ──approve──▶ done
       ▲                                              │   │                      │
       └──── release / lease expiry ◀─────────────────┘   └──block──▶ blocked ──unblock──▶ pending
    done, review, cancelled ──reopen──▶ pending;  anything but done ──cancel──▶ cancelled

Every transition is one transaction under the project's lock, records an event, and updates the contexts;
an illegal one is a 409 naming the task's current status. Only tasks of the accepted plan (or outside any
plan) can be worked on.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from gateway.app import outbox, task_states
from gateway.app.db import ProjectDB, TaskDB, TaskPlanDB, utc_now
from gateway.app.errors import Conflict, DeliverablesMissing, IllegalTransition, InvalidInput
from gateway.app.logging import get_logger
from gateway.app.services import contexts, deliverables, memory, projects, tasks

log = get_logger(__name__)

DEFAULT_LEASE_SECONDS = 900
MIN_LEASE_SECONDS, MAX_LEASE_SECONDS = 1, 86_400


def _illegal(task: TaskDB, action: str, allowed: tuple[str, ...]) -> IllegalTransition:
    return IllegalTransition(
        f"Cannot {action} task {task.code or task.id}: it is {task.status} (allowed from {', '.join(allowed)}).",
        task_id=task.id,
        code=task.code,
        current_status=task.status,
        allowed_from=list(allowed),
    )


def _lease(seconds: int | None) -> timedelta:
    seconds = DEFAULT_LEASE_SECONDS if seconds is None else seconds
    if not MIN_LEASE_SECONDS <= seconds <= MAX_LEASE_SECONDS:
        raise InvalidInput(
            f"A lease lasts {MIN_LEASE_SECONDS} to {MAX_LEASE_SECONDS} seconds.",
            errors=[{"loc": ["body", "lease_seconds"], "msg": "out of range", "type": "range"}],
        )
    return timedelta(seconds=seconds)


READY_BATCH = 64


def _candidates(by_priority: bool) -> Any:
    order = (col(TaskDB.priority).desc(), col(TaskDB.idx)) if by_priority else (col(TaskDB.idx),)
    return (
        select(TaskDB.id, TaskDB.code, TaskDB.status, TaskDB.dependencies)
        .where(
            TaskDB.plan_id == bindparam("plan_id"),
            TaskDB.status == task_states.PENDING,
            col(TaskDB.claimed_by).is_(None),
        )
        .order_by(*order)
        .offset(bindparam("offset"))
        .limit(READY_BATCH)
    )


# Built once (only the parameters change); columns, not models: one ORM object for the task found, not 64.
_CANDIDATES = {by_priority: _candidates(by_priority) for by_priority in (False, True)}
_STATUSES = select(TaskDB.code, TaskDB.status).where(
    TaskDB.plan_id == bindparam("plan_id"), col(TaskDB.code).in_(bindparam("codes", expanding=True))
)


def first_ready_row(session: Session, plan_id: int, *, by_priority: bool) -> Any:
    """The first pending, unclaimed task whose dependencies are resolved (its id, code, status and dependencies),
    without loading the whole plan.

    Candidates come from the (plan_id, status) index in order (idx, or priority then idx), a batch at a time;
    their dependencies' statuses come in one query per batch.
    """
    connection = session.connection()
    offset = 0
    while True:
        batch = connection.execute(_CANDIDATES[by_priority], {"plan_id": plan_id, "offset": offset}).all()
        if not batch:
            return None
        codes = sorted({code for row in batch for code in task_states.dependency_codes(row)})
        statuses: dict[str, str] = {}
        if codes:
            for code, status in connection.execute(_STATUSES, {"plan_id": plan_id, "codes": codes}):
                statuses[code] = status
        for row in batch:
            if task_states.is_ready(row, statuses):
                return row
        offset += READY_BATCH


def first_ready(session: Session, plan_id: int, *, by_priority: bool) -> TaskDB | None:
    """The first pending, unclaimed task whose dependencies are resolved (see `first_ready_row`), as a model."""
    row = first_ready_row(session, plan_id, by_priority=by_priority)
    return session.get(TaskDB, row.id) if row is not None else None


def _plan_state(session: Session, plan_id: int) -> tuple[bool, bool]:
    """Whether any of the plan's tasks is still open (neither done nor cancelled), and whether any is done.

    Two existence checks on the (plan_id, status) index: the cost does not grow with the plan.
    """
    of_plan = TaskDB.plan_id == plan_id
    open_ = session.exec(select(TaskDB.id).where(of_plan, col(TaskDB.status).not_in(task_states.RESOLVED)).limit(1))
    if open_.first() is not None:
        return True, False
    done = session.exec(select(TaskDB.id).where(of_plan, TaskDB.status == task_states.DONE).limit(1)).first()
    return False, done is not None


def _workable(session: Session, project: ProjectDB, task: TaskDB) -> None:
    """Only the accepted plan's tasks (or tasks outside any plan) can be worked on."""
    if task.plan_id is not None and task.plan_id != project.active_plan_id:
        plan = session.get(TaskPlanDB, task.plan_id)
        raise Conflict(
            f"Task {task.code} belongs to plan version {plan.version if plan else '?'}, not to the accepted plan.",
            task_id=task.id,
            plan_version=plan.version if plan else None,
        )


def _holder_check(task: TaskDB, agent_id: str | None, action: str) -> None:
    """A claimed task is worked on only by the agent holding the claim: anyone else is refused, named or not."""
    if task.claimed_by is not None and task.claimed_by != agent_id:
        raise Conflict(
            f"Task {task.code or task.id} is claimed by {task.claimed_by}; only it can {action} the task.",
            task_id=task.id,
            claimed_by=task.claimed_by,
            lease_expires_at=task.lease_expires_at,
        )


def _record(session: Session, project: ProjectDB, task: TaskDB, type_: str, actor: str, **data: Any) -> None:
    outbox.record(
        session,
        project_id=project.id,
        type=type_,
        data={"task_id": task.id, "code": task.code, "status": task.status, **data},
        actor=actor,
    )


_ANY_EXPIRED = (
    select(TaskDB.id)
    .where(
        TaskDB.project_id == bindparam("project_id"),
        col(TaskDB.claimed_by).is_not(None),
        col(TaskDB.lease_expires_at) < bindparam("now"),
    )
    .limit(1)
)


def reap_expired_leases(session: Session, project: ProjectDB) -> list[TaskDB]:
    """Return every task whose lease ran out to pending (inside the caller's transaction)."""
    now = utc_now()
    # Almost always there is none: one Core existence check built once, and the models only when there is.
    if session.connection().execute(_ANY_EXPIRED, {"project_id": project.id, "now": now}).first() is None:
        return []
    expired = session.exec(
        select(TaskDB).where(
            TaskDB.project_id == project.id,
            col(TaskDB.claimed_by).is_not(None),
            col(TaskDB.lease_expires_at) < now,
        )
    ).all()
    for task in expired:
        agent = task.claimed_by
        if task.status == task_states.IN_PROGRESS:
            task.status = task_states.PENDING
            task.started_at = None
        task.claimed_by = None
        task.lease_expires_at = None
        task.updated_at = now
        session.add(task)
        _record(session, project, task, "task.lease_expired", "system", agent_id=agent)
    return list(expired)


def _begin(
    session: Session, project_id: str, task_id: int | None = None, *, withdrawn_ok: bool = False
) -> tuple[ProjectDB, TaskDB | None]:
    project = projects.lock(session=session, project_id=project_id)
    if reap_expired_leases(session, project):
        session.flush()
        _advance(session, project, "system")
    task = tasks.get(session=session, project_id=project_id, task_id=task_id) if task_id is not None else None
    if task is not None:
        if not withdrawn_ok:
            task_states.ensure_not_withdrawn(task)
        _workable(session, project, task)
    return project, task


def withdraw(session: Session, project: ProjectDB, task: TaskDB, *, reason: str, actor: str) -> None:
    """Close a task that is no longer part of the work (inside the caller's transaction): cancelled with the reason,
    its claim released, its holder remembered so that the agent is told on its next call."""
    holder = task.claimed_by
    task.status = task_states.CANCELLED
    task.closed_reason = reason
    task.released_from = holder
    task.claimed_by = None
    task.lease_expires_at = None
    task.updated_at = utc_now()
    session.add(task)
    _record(session, project, task, "task.cancelled", actor, reason=reason, agent_id=holder)
    log.info("task withdrawn", project_id=project.id, task_id=task.id, agent_id=holder, reason=reason)


def withdrawn_from(session: Session, *, project: ProjectDB, agent_id: str) -> list[TaskDB]:
    """The tasks the latest re-plan took from this agent (what it must be told about)."""
    if project.active_plan_id is None:
        return []
    plan = session.get(TaskPlanDB, project.active_plan_id)
    since = plan.decided_at if plan is not None else None
    statement = select(TaskDB).where(
        TaskDB.project_id == project.id,
        TaskDB.released_from == agent_id,
        TaskDB.status == task_states.CANCELLED,
    )
    if since is not None:
        statement = statement.where(col(TaskDB.updated_at) >= since)
    return list(session.exec(statement.order_by(col(TaskDB.id))).all())


def _advance(session: Session, project: ProjectDB, actor: str, *, left_ready: TaskDB | None = None) -> None:
    """Move the current task and the project's status after a task changed.

    `left_ready`: the change only took that task out of the ready set (claimed, or started): unless it was the
    current task, the current one is still the first ready task and the plan still has an open task, so there is
    nothing to look up.
    """
    if project.active_plan_id is None:
        return
    current_id = project.current_task_id
    if left_ready is not None and current_id is not None and left_ready.id != current_id:
        return
    row = first_ready_row(session, project.active_plan_id, by_priority=False)
    if (row.id if row is not None else None) != current_id:
        current = session.get(TaskDB, row.id) if row is not None else None
        projects.set_current_task(session, project=project, current=current, actor=actor)
    open_, done = _plan_state(session, project.active_plan_id)
    if not open_ and done:
        projects.set_status(session, project, "completed", actor=actor)
    elif project.status == "completed":
        projects.set_status(session, project, "active", actor=actor)


# --- Claims -------------------------------------------------------------------------------------------


def claim(
    *,
    session: Session,
    project_id: str,
    task_id: int,
    agent_id: str,
    lease_seconds: int | None = None,
    start: bool = False,
) -> TaskDB:
    """Claim a ready task for an agent (or renew the agent's own claim) until the lease runs out.

    With `start`, the task is also started in the same transaction (claim and start succeed or fail together).
    """
    lease = _lease(lease_seconds)
    project, task = _begin(session, project_id, task_id)
    assert task is not None
    if task.claimed_by == agent_id and task.status in (task_states.PENDING, task_states.IN_PROGRESS):
        task.lease_expires_at = utc_now() + lease
        session.add(task)
        _record(session, project, task, "task.claimed", f"agent:{agent_id}", agent_id=agent_id, renewed=True)
        if start and task.status == task_states.PENDING:
            _start(session, project, task, agent_id, lease)
        session.commit()
        return task
    if task.status != task_states.PENDING:
        raise _illegal(task, "claim", (task_states.PENDING,))
    _holder_check(task, agent_id, "claim")
    waiting = _unmet_dependencies(session, task)
    if waiting:
        raise Conflict(
            f"Task {task.code} is not ready: it waits on {', '.join(waiting)}.", task_id=task.id, waiting_on=waiting
        )
    _grant(session, project, task, agent_id, lease)
    if start:
        _start(session, project, task, agent_id, lease)
    session.commit()
    return task


def _grant(session: Session, project: ProjectDB, task: TaskDB, agent_id: str, lease: timedelta) -> None:
    task.claimed_by = agent_id
    task.lease_expires_at = utc_now() + lease
    task.updated_at = utc_now()
    session.add(task)
    _record(
        session,
        project,
        task,
        "task.claimed",
        f"agent:{agent_id}",
        agent_id=agent_id,
        lease_expires_at=task.lease_expires_at,
    )
    log.info("task claimed", project_id=project.id, task_id=task.id, agent_id=agent_id)
    _advance(session, project, f"agent:{agent_id}", left_ready=task)


def _unmet_dependencies(session: Session, task: TaskDB) -> list[str]:
    codes = task_states.dependency_codes(task)
    if not codes or task.plan_id is None:
        return []
    statuses = dict(
        session.exec(
            select(TaskDB.code, TaskDB.status).where(TaskDB.plan_id == task.plan_id, col(TaskDB.code).in_(codes))
        ).all()
    )
    return [code for code in codes if statuses.get(code) not in task_states.RESOLVED]


def claim_next(
    *, session: Session, project_id: str, agent_id: str, lease_seconds: int | None = None, start: bool = False
) -> TaskDB | None:
    """Claim the ready task of highest priority and lowest idx, atomically; None when nothing is ready.

    With `start`, the task is also started in the same transaction.
    """
    lease = _lease(lease_seconds)
    project, _ = _begin(session, project_id)
    task = first_ready(session, project.active_plan_id, by_priority=True) if project.active_plan_id else None
    if task is None:
        session.commit()  # keep the reaping of expired leases
        return None
    _grant(session, project, task, agent_id, lease)
    if start:
        _start(session, project, task, agent_id, lease)
    session.commit()
    return task


def claim_work(
    *,
    session: Session,
    project_id: str,
    agent_id: str,
    task_id: int | None = None,
    lease_seconds: int | None = None,
    start: bool = True,
) -> TaskDB | None:
    """What an agent does to begin work: claim the given task (or the next ready one) and start it, atomically.

    None when no task is given and none is ready. Claiming its own task again renews the lease.
    """
    if task_id is None:
        return claim_next(
            session=session, project_id=project_id, agent_id=agent_id, lease_seconds=lease_seconds, start=start
        )
    return claim(
        session=session,
        project_id=project_id,
        task_id=task_id,
        agent_id=agent_id,
        lease_seconds=lease_seconds,
        start=start,
    )


def release(*, session: Session, project_id: str, task_id: int, agent_id: str) -> TaskDB:
    """An agent gives its claim back; a started task returns to pending."""
    project, task = _begin(session, project_id, task_id)
    assert task is not None
    if task.claimed_by != agent_id:
        raise Conflict(
            f"Task {task.code or task.id} is not claimed by {agent_id}.", task_id=task.id, claimed_by=task.claimed_by
        )
    task.claimed_by = None
    task.lease_expires_at = None
    if task.status == task_states.IN_PROGRESS:
        task.status = task_states.PENDING
        task.started_at = None
    task.updated_at = utc_now()
    session.add(task)
    _record(session, project, task, "task.released", f"agent:{agent_id}", agent_id=agent_id)
    _advance(session, project, f"agent:{agent_id}")
    session.commit()
    return task


# --- Transitions --------------------------------------------------------------------------------------


def start(
    *, session: Session, project_id: str, task_id: int, agent_id: str | None = None, lease_seconds: int | None = None
) -> TaskDB:
    """Start work on a ready task: in_progress, with its context generated from the global one."""
    project, task = _begin(session, project_id, task_id)
    assert task is not None
    if task.status != task_states.PENDING:
        raise _illegal(task, "start", (task_states.PENDING,))
    _holder_check(task, agent_id, "start")
    waiting = _unmet_dependencies(session, task)
    if waiting:
        raise Conflict(f"Task {task.code} waits on {', '.join(waiting)}.", task_id=task.id, waiting_on=waiting)
    _start(session, project, task, agent_id, _lease(lease_seconds))
    session.commit()
    return task


def _start(session: Session, project: ProjectDB, task: TaskDB, agent_id: str | None, lease: timedelta) -> None:
    """In progress from now, with the task's context generated (inside the caller's transaction)."""
    actor = f"agent:{agent_id}" if agent_id else "user"
    if agent_id is not None:
        task.claimed_by = agent_id
        task.lease_expires_at = utc_now() + lease
    task.status = task_states.IN_PROGRESS
    task.started_at = utc_now()
    task.updated_at = task.started_at
    session.add(task)
    _record(session, project, task, "task.started", actor, agent_id=agent_id)
    session.flush()
    _advance(session, project, actor, left_ready=task)
    contexts.on_task_started(session, project=project, task=task, actor=actor)
    log.info("task started", project_id=project.id, task_id=task.id, agent_id=agent_id)


def block(*, session: Session, project_id: str, task_id: int, reason: str, agent_id: str | None = None) -> TaskDB:
    """Report a blocker: the task waits (and its claim is released) until someone unblocks it."""
    project, task = _begin(session, project_id, task_id)
    assert task is not None
    allowed = (task_states.PENDING, task_states.IN_PROGRESS)
    if task.status not in allowed:
        raise _illegal(task, "block", allowed)
    _holder_check(task, agent_id, "block")
    task.status = task_states.BLOCKED
    task.blocked_reason = reason
    task.claimed_by = None
    task.lease_expires_at = None
    task.updated_at = utc_now()
    session.add(task)
    actor = f"agent:{agent_id}" if agent_id else "user"
    _record(session, project, task, "task.blocked", actor, reason=reason)
    _advance(session, project, actor)
    session.commit()
    return task


def unblock(*, session: Session, project_id: str, task_id: int, note: str | None = None) -> TaskDB:
    """A blocked task can proceed again: back to pending, ready to be claimed."""
    project, task = _begin(session, project_id, task_id)
    assert task is not None
    if task.status != task_states.BLOCKED:
        raise _illegal(task, "unblock", (task_states.BLOCKED,))
    task.status = task_states.PENDING
    task.started_at = None
    task.blocked_reason = None
    task.updated_at = utc_now()
    session.add(task)
    _record(session, project, task, "task.unblocked", "user", note=note)
    _advance(session, project, "user")
    session.commit()
    return task


def missing_deliverables(session: Session, task: TaskDB) -> list[dict[str, Any]]:
    """The required deliverables that no valid artifact of the task satisfies, by path (see `deliverables`)."""
    return [m.as_dict() for m in deliverables.missing(session, task)]


def complete(*, session: Session, project_id: str, task_id: int, summary: str, agent_id: str | None = None) -> TaskDB:
    """Finish a task with a summary: done (or review, when the project wants one), once its deliverables are in."""
    project, task = _begin(session, project_id, task_id)
    assert task is not None
    actor = f"agent:{agent_id}" if agent_id else "user"
    if task.status != task_states.IN_PROGRESS:
        raise _illegal(task, "complete", (task_states.IN_PROGRESS,))
    _holder_check(task, agent_id, "complete")
    missing = deliverables.missing(session, task)
    if missing:
        raise DeliverablesMissing(
            f"Task {task.code or task.id} lacks a valid artifact for {len(missing)} required "
            f"deliverable{'s' if len(missing) > 1 else ''}: {'; '.join(m.describe() for m in missing)}.",
            task_id=task.id,
            missing=[m.as_dict() for m in missing],
        )
    task.summary = summary
    task.claimed_by = None
    task.lease_expires_at = None
    task.updated_at = utc_now()
    if project.require_review:
        task.status = task_states.REVIEW
        session.add(task)
        _record(session, project, task, "task.submitted", actor, summary=summary)
    else:
        _finish(session, project, task, actor)
    session.commit()
    log.info("task completed", project_id=project_id, task_id=task_id, status=task.status)
    return task


def _finish(session: Session, project: ProjectDB, task: TaskDB, actor: str) -> None:
    task.status = task_states.DONE
    task.completed_at = utc_now()
    session.add(task)
    _record(session, project, task, "task.completed", actor, summary=task.summary)
    session.flush()
    _advance(session, project, actor)
    # Progress is computed when the context is read; what the task delivered is memory.
    memory.after_completion(session, project=project, task=task, actor=actor)


def approve(*, session: Session, project_id: str, task_id: int) -> TaskDB:
    """The user accepts a task waiting in review: it is done."""
    project, task = _begin(session, project_id, task_id)
    assert task is not None
    if task.status != task_states.REVIEW:
        raise _illegal(task, "approve", (task_states.REVIEW,))
    _finish(session, project, task, "user")
    session.commit()
    return task


def reopen(*, session: Session, project_id: str, task_id: int, reason: str | None = None) -> TaskDB:
    """Take back a completion (or a cancellation): the task is pending again and the project not completed."""
    project, task = _begin(session, project_id, task_id, withdrawn_ok=True)
    assert task is not None
    allowed = (task_states.DONE, task_states.REVIEW, task_states.CANCELLED)
    if task.status not in allowed:
        raise _illegal(task, "reopen", allowed)
    task.status = task_states.PENDING
    task.started_at = None
    task.completed_at = None
    task.closed_reason = None
    task.released_from = None
    task.updated_at = utc_now()
    session.add(task)
    _record(session, project, task, "task.reopened", "user", reason=reason)
    session.flush()
    _advance(session, project, "user")
    session.commit()
    return task


def cancel(*, session: Session, project_id: str, task_id: int, reason: str | None = None) -> TaskDB:
    """Drop a task from the work (it no longer holds up the tasks that depend on it)."""
    project, task = _begin(session, project_id, task_id, withdrawn_ok=True)
    assert task is not None
    if task.status in (task_states.DONE, task_states.CANCELLED):
        raise _illegal(
            task, "cancel", (task_states.PENDING, task_states.IN_PROGRESS, task_states.REVIEW, task_states.BLOCKED)
        )
    task.status = task_states.CANCELLED
    task.closed_reason = f"Cancelled by a user: {reason}" if reason else "Cancelled by a user."
    task.released_from = task.claimed_by
    task.claimed_by = None
    task.lease_expires_at = None
    task.updated_at = utc_now()
    session.add(task)
    _record(session, project, task, "task.cancelled", "user", reason=reason, agent_id=task.released_from)
    session.flush()
    _advance(session, project, "user")
    session.commit()
    return task
