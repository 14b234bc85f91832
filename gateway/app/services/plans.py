"""Plan versions and the user-AI consensus: propose, revise, edit, accept, reject, read and diff.

Versions are numbered 1, 2, 3… per project (unique in the database; a racing writer retries). A version's
tasks never change once written: every change is a new version. Accepting a version makes it the project's
active plan and carries the progress of tasks by their stable code.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row, bindparam, func, insert, true
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.app import outbox, task_states
from gateway.app.db import READ_ONLY, ArtifactDB, ContextDB, ProjectDB, TaskDB, TaskPlanDB, utc_now
from gateway.app.errors import Conflict, InvalidInput, NotFound
from gateway.app.logging import get_logger
from gateway.app.planner import (
    Edit,
    Feedback,
    GameBrief,
    PlanDraft,
    PlanningRequest,
    engine_of,
    ensure_valid,
    get_planner,
    load_catalogue,
)
from gateway.app.planner.base import Drafted, Provenance, draft_now
from gateway.app.services import contexts, projects, task_execution

log = get_logger(__name__)
T = TypeVar("T")

# The seed's three statuses, and `rejected` for a version a user turned down (superseded is what acceptance
# of another version does to the rest).
PROPOSED, ACCEPTED, SUPERSEDED, REJECTED = "proposed", "accepted", "superseded", "rejected"
_ATTEMPTS = 5
# Task fields a plan version defines (and a diff compares) that hold JSON values.
JSON_FIELDS = ("acceptance_criteria", "deliverables", "estimates", "dependencies", "mcp_tools")
# Of those, the seed's columns, typed `str` by its contract: JSON text, parsed and written here.
SEED_JSON_FIELDS = ("deliverables", "estimates", "mcp_tools")
PLAN_FIELDS = ("title", "description", "discipline", "priority", "milestone", *JSON_FIELDS)
# Progress a task carries from the previously accepted version to the same code in the new one.
CARRIED = ("status", "started_at", "completed_at", "summary", "blocked_reason", "claimed_by", "lease_expires_at")


# --- Conversions ----------------------------------------------------------------------------------------


def brief_of(project: ProjectDB) -> GameBrief:
    """The project's game brief (an empty one for projects created without)."""
    return GameBrief.model_validate(project.brief) if project.brief else GameBrief(title=project.name)


def task_fields(task: TaskDB | Row[Any]) -> dict[str, Any]:
    """A stored task's plan fields (from its model or its row), the seed's JSON text parsed."""
    fields = {name: getattr(task, name) for name in PLAN_FIELDS}
    for name in SEED_JSON_FIELDS:
        fields[name] = json.loads(fields[name]) if fields[name] is not None else None
    return fields


def to_draft(plan: TaskPlanDB, plan_tasks: list[TaskDB]) -> PlanDraft:
    """A stored version as the draft a planner revises."""
    return PlanDraft.from_parts(
        summary=plan.summary or "",
        tasks=[{"code": task.code, "idx": task.idx, **task_fields(task)} for task in plan_tasks],
        details=plan.details or {},
        milestones=milestones_of(plan),
    )


def milestones_of(plan: TaskPlanDB) -> list[dict[str, Any]]:
    """A stored version's milestones in order, as `{key, title, goal}` (empty for versions without milestones)."""
    return plan.milestones or []


def _task_values(project_id: str, plan_id: int, draft: PlanDraft) -> list[dict[str, Any]]:
    """One tasks row per drafted task, as values for a single bulk INSERT (no per-row round trip)."""
    now = utc_now()
    rows = []
    for task in draft.tasks:
        data = task.model_dump(mode="json")
        rows.append(
            {
                "project_id": project_id,
                "plan_id": plan_id,
                "code": task.code,
                "idx": task.idx,
                "title": task.title,
                "description": task.description,
                "discipline": task.discipline,
                "priority": task.priority,
                "milestone": task.milestone,
                "status": task_states.PENDING,
                "created_at": now,
                "updated_at": now,
                **{name: data[name] for name in JSON_FIELDS if name not in SEED_JSON_FIELDS},
                **{name: json.dumps(data[name], ensure_ascii=False) for name in SEED_JSON_FIELDS},
            }
        )
    return rows


# --- Reading --------------------------------------------------------------------------------------------


def get(*, session: Session, project_id: str, version: int) -> TaskPlanDB:
    """One version of the project's plan."""
    projects.get(session=session, project_id=project_id)
    plan = session.exec(
        select(TaskPlanDB).where(TaskPlanDB.project_id == project_id, TaskPlanDB.version == version)
    ).first()
    if plan is None:
        raise NotFound(f"Project {project_id!r} has no plan version {version}.", resource="plan", id=version)
    return plan


def tasks_of(*, session: Session, plan: TaskPlanDB) -> list[TaskDB]:
    """A version's tasks in order, as models (to change them)."""
    return list(session.exec(select(TaskDB).where(TaskDB.plan_id == plan.id).order_by(col(TaskDB.idx))).all())


# Built once: a version's tasks as rows of columns in order, for readers. Loading 1,000 models to read them cost
# as much as the rest of a plan read (issue 15); a row holds the same values, the seed's JSON text unparsed.
_TASK_ROWS = (
    sa_select(TaskDB.__table__)  # type: ignore[attr-defined]  # every table model has one; SQLModel does not say so
    .where(col(TaskDB.plan_id) == bindparam("plan_id"))
    .order_by(col(TaskDB.idx))
)


def task_rows(*, session: Session, plan_id: int | None) -> list[Row[Any]]:
    """A version's tasks in order, read as columns: each row has every column of `tasks` as an attribute."""
    return list(session.execute(_TASK_ROWS, {"plan_id": plan_id}).all())


def list_versions(*, session: Session, project_id: str) -> list[TaskPlanDB]:
    """Every version of the project's plan, newest first."""
    projects.get(session=session, project_id=project_id)
    return list(
        session.exec(
            select(TaskPlanDB).where(TaskPlanDB.project_id == project_id).order_by(col(TaskPlanDB.version).desc())
        ).all()
    )


def task_counts(*, session: Session, plan_ids: list[int]) -> dict[int, int]:
    """How many tasks each version has."""
    if not plan_ids:
        return {}
    rows = session.exec(
        select(TaskDB.plan_id, func.count()).where(col(TaskDB.plan_id).in_(plan_ids)).group_by(col(TaskDB.plan_id))
    ).all()
    return dict(rows)  # type: ignore[arg-type]  # rows are (plan_id, count) pairs of tasks selected by plan_id, never None


def active(*, session: Session, project_id: str) -> TaskPlanDB:
    """The project's accepted plan."""
    project = projects.get(session=session, project_id=project_id)
    if project.active_plan_id is None:
        raise NotFound(f"Project {project_id!r} has no accepted plan yet.", resource="plan", id=None)
    plan = session.get(TaskPlanDB, project.active_plan_id)
    assert plan is not None
    return plan


def base_version(session: Session, plan: TaskPlanDB) -> int | None:
    """The number of the version a version was revised or edited from."""
    if plan.based_on_id is None:
        return None
    base = session.get(TaskPlanDB, plan.based_on_id)
    return base.version if base else None


def summary_view(plan: TaskPlanDB, *, task_count: int, based_on_version: int | None) -> dict[str, Any]:
    """A version without its tasks, JSON columns parsed: what every door shows of it."""
    return {
        **plan.model_dump(exclude={"feedback", "details", "milestones", "provenance"}),
        "feedback": plan.feedback,
        "milestones": milestones_of(plan),
        "details": plan.details or {},
        "provenance": provenance_of(plan),
        "based_on_version": based_on_version,
        "task_count": task_count,
    }


def full_view(session: Session, plan: TaskPlanDB) -> dict[str, Any]:
    """A version with its tasks in order, each a dict of its columns (the seed's JSON columns as stored text)."""
    rows = [row._asdict() for row in task_rows(session=session, plan_id=plan.id)]
    return summary_view(plan, task_count=len(rows), based_on_version=base_version(session, plan)) | {"tasks": rows}


def outline(session: Session, plan: TaskPlanDB) -> dict[str, Any]:
    """A version as an agent reads it: its tasks in order with status, priority and dependencies only."""
    return {
        "version": plan.version,
        "status": plan.status,
        "summary": plan.summary,
        "milestones": milestones_of(plan),
        "tasks": [
            {
                "code": t.code,
                "title": t.title,
                "milestone": t.milestone,
                "status": t.status,
                "priority": t.priority,
                "dependencies": task_states.dependency_codes(t),
            }
            for t in tasks_of(session=session, plan=plan)
        ],
    }


def provenance_of(plan: TaskPlanDB) -> dict[str, Any]:
    """Who made a version and at what cost; versions from before provenance was kept name their planner only."""
    if plan.provenance:
        return plan.provenance
    details = plan.details or {}
    return Provenance(planner=details.get("planner") or plan.created_by).model_dump()


def diff(*, session: Session, project_id: str, from_version: int, to_version: int) -> dict[str, Any]:
    """Task-by-task differences between two versions: added, removed, changed fields, moved.

    `moved` lists only the tasks whose order relative to the others changed (the fewest that explain the new
    order); a task that merely shifted because another was added or removed before it did not move.
    """
    old = get(session=session, project_id=project_id, version=from_version)
    new = get(session=session, project_id=project_id, version=to_version)
    old_rows, new_rows = task_rows(session=session, plan_id=old.id), task_rows(session=session, plan_id=new.id)
    return diff_tasks(old_rows, new_rows) | {
        "from_version": from_version,
        "to_version": to_version,
        "milestones": diff_milestones(milestones_of(old), milestones_of(new)),
    }


def diff_milestones(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare two milestone lists by key: added, removed, changed title or goal, and whether the order changed."""
    old_by_key = {m["key"]: m for m in old}
    new_by_key = {m["key"]: m for m in new}
    changed = []
    for milestone in new:
        before = old_by_key.get(milestone["key"])
        if before is None:
            continue
        fields = {
            name: {"old": before.get(name), "new": milestone.get(name)}
            for name in ("title", "goal")
            if before.get(name) != milestone.get(name)
        }
        if fields:
            changed.append({"key": milestone["key"], "title": milestone["title"], "fields": fields})
    kept_old = [m["key"] for m in old if m["key"] in new_by_key]
    kept_new = [m["key"] for m in new if m["key"] in old_by_key]
    return {
        "added": [m for m in new if m["key"] not in old_by_key],
        "removed": [m for m in old if m["key"] not in new_by_key],
        "changed": changed,
        "reordered": kept_old != kept_new,
    }


def diff_tasks(old_tasks: Sequence[TaskDB | Row[Any]], new_tasks: Sequence[TaskDB | Row[Any]]) -> dict[str, Any]:
    """Compare two task lists (models or rows) by code."""
    old_by_code = {task.code: task for task in old_tasks}
    new_by_code = {task.code: task for task in new_tasks}
    added = [{"code": t.code, "title": t.title, "idx": t.idx} for t in new_tasks if t.code not in old_by_code]
    removed = [{"code": t.code, "title": t.title, "idx": t.idx} for t in old_tasks if t.code not in new_by_code]
    changed, moved = [], []
    in_order = set(
        _longest_common_subsequence(
            [t.code for t in sorted(old_tasks, key=lambda t: t.idx) if t.code in new_by_code],
            [t.code for t in sorted(new_tasks, key=lambda t: t.idx) if t.code in old_by_code],
        )
    )
    for task in new_tasks:
        before = old_by_code.get(task.code)
        if before is None:
            continue
        old_fields, new_fields = task_fields(before), task_fields(task)
        fields = {
            name: {"old": old_fields[name], "new": new_fields[name]}
            for name in PLAN_FIELDS
            if old_fields[name] != new_fields[name]
        }
        if fields:
            changed.append({"code": task.code, "title": task.title, "fields": fields})
        if task.code not in in_order:
            moved.append({"code": task.code, "title": task.title, "from_idx": before.idx, "to_idx": task.idx})
    return {"added": added, "removed": removed, "changed": changed, "moved": moved}


def _longest_common_subsequence(first: list[T], second: list[T]) -> list[T]:
    """The longest run of items both lists have in the same relative order: whatever is outside it moved."""
    lengths = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i, a in enumerate(first):
        for j, b in enumerate(second):
            lengths[i + 1][j + 1] = lengths[i][j] + 1 if a == b else max(lengths[i][j + 1], lengths[i + 1][j])
    common: list[T] = []
    i, j = len(first), len(second)
    while i and j:
        if first[i - 1] == second[j - 1]:
            common.append(first[i - 1])
            i, j = i - 1, j - 1
        elif lengths[i - 1][j] >= lengths[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return common[::-1]


# --- Writing --------------------------------------------------------------------------------------------


def _supersede(session: Session, project: ProjectDB, plan: TaskPlanDB, *, reason: str, actor: str) -> None:
    plan.status = SUPERSEDED
    plan.decision_reason = reason
    plan.decided_at = utc_now()
    session.add(plan)
    outbox.record(
        session,
        project_id=project.id,
        type="plan.superseded",
        data={"plan_id": plan.id, "version": plan.version, "reason": reason},
        actor=actor,
    )


def _write_version(
    session: Session,
    *,
    project: ProjectDB,
    draft: PlanDraft,
    created_by: str,
    actor: str,
    provenance: Provenance,
    based_on: TaskPlanDB | None = None,
    feedback: Feedback | None = None,
) -> TaskPlanDB:
    """Validate a draft and store it as the project's next version; other open proposals stay open."""
    if draft.template is None and based_on is not None:
        # A user's whole plan keeps the template (and so the engine) of the version it was written from.
        base = based_on.details or {}
        draft = draft.model_copy(update={"template": base.get("template"), "features": base.get("features", [])})
    ensure_valid(draft, load_catalogue(), engine=engine_of(draft))
    latest = session.exec(select(func.max(TaskPlanDB.version)).where(TaskPlanDB.project_id == project.id)).one()
    version = (latest or 0) + 1
    plan = TaskPlanDB(
        project_id=project.id,
        version=version,
        status=PROPOSED,
        summary=draft.summary,
        created_by=created_by,
        based_on_id=based_on.id if based_on else None,
        feedback=feedback.model_dump(mode="json", exclude_unset=True) if feedback else None,
        details={"planner": provenance.planner, **draft.details()},
        milestones=[m.model_dump(mode="json") for m in draft.milestones] if draft.milestones else None,
        provenance=provenance.model_dump(mode="json"),
    )
    session.add(plan)
    session.flush()
    session.execute(insert(TaskDB), _task_values(project.id, plan.id, draft))  # type: ignore[arg-type]  # executemany with a list of dicts; SQLAlchemy types the parameters loosely
    outbox.record(
        session,
        project_id=project.id,
        type="plan.proposed",
        data={
            "plan_id": plan.id,
            "version": version,
            "created_by": created_by,
            "based_on_version": based_on.version if based_on else None,
            "tasks": len(draft.tasks),
            "provenance": provenance.model_dump(),
        },
        actor=actor,
    )
    if project.status == "draft":
        projects.set_status(session, project, "consensus", actor=actor)
    session.flush()
    return plan


def _planning_request(
    session: Session, project: ProjectDB, previous: PlanDraft | None, feedback: Feedback | None
) -> PlanningRequest:
    context = (
        session.exec(select(ContextDB).where(ContextDB.id == project.active_context_id)).first()
        if project.active_context_id
        else None
    )
    return PlanningRequest(
        brief=brief_of(project),
        context=contexts.content_of(context) if context else None,
        previous=previous,
        feedback=feedback,
    )


# --- Planning without holding anything ------------------------------------------------------------------
# A planner may take minutes (an LLM): it never runs inside a transaction. The inputs are read in one short
# read transaction, the planner runs with nothing held, and the version is written in one transaction that
# first checks that the base version is still what it was (not accepted, superseded or rejected meanwhile,
# which would make the revision stale): then a synchronous caller plans again, and a job fails with a conflict.


@dataclass(frozen=True)
class PlanningInputs:
    """What a planner needs, read at one moment, and the state of the base version then."""

    project_id: str
    request: PlanningRequest
    base_id: int | None = None
    base_version: int | None = None
    base_status: str | None = None


class StaleInputs(Exception):
    """The base version changed status while the planner ran on it (accepted, superseded or rejected)."""

    def __init__(self, version: int | None, was: str | None, now: str | None) -> None:
        super().__init__(f"version {version} was {was} when the revision started and is {now} now")
        self.version, self.was, self.now = version, was, now


def planning_inputs(
    *, session: Session, project_id: str, version: int | None = None, feedback: Feedback | None = None
) -> PlanningInputs:
    """Read a planner's inputs (brief, active context, base version, feedback) and end the transaction."""
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={READ_ONLY: True})  # a reader: no write lock
    try:
        project = projects.get(session=session, project_id=project_id)
        base = get(session=session, project_id=project_id, version=version) if version is not None else None
        previous = to_draft(base, tasks_of(session=session, plan=base)) if base is not None else None
        return PlanningInputs(
            project_id=project_id,
            request=_planning_request(session, project, previous, feedback),
            base_id=base.id if base is not None else None,
            base_version=base.version if base is not None else None,
            base_status=base.status if base is not None else None,
        )
    finally:
        session.rollback()  # nothing is held while the planner runs


def store_draft(
    session: Session,
    *,
    inputs: PlanningInputs,
    drafted: Drafted,
    created_by: str,
    actor: str,
    feedback: Feedback | None = None,
) -> TaskPlanDB:
    """Lock the project, check the base version is as it was (StaleInputs otherwise), write the version.

    The caller commits (a job marks itself done in the same transaction).
    """
    project = projects.lock(session=session, project_id=inputs.project_id)
    based_on = session.get(TaskPlanDB, inputs.base_id) if inputs.base_id is not None else None
    if inputs.base_id is not None and (based_on is None or based_on.status != inputs.base_status):
        raise StaleInputs(inputs.base_version, inputs.base_status, based_on.status if based_on else "gone")
    return _write_version(
        session,
        project=project,
        draft=drafted.draft,
        created_by=created_by,
        actor=actor,
        provenance=drafted.provenance,
        based_on=based_on,
        feedback=feedback,
    )


def _plan_and_store(
    session: Session,
    *,
    project_id: str,
    version: int | None,
    feedback: Feedback | None,
    make: Callable[[PlanningInputs], Drafted],
    created_by: str,
    actor: str,
    kept_feedback: Feedback | None,
) -> TaskPlanDB:
    """Read, plan with nothing held, write; plan again when the base version changed meanwhile."""
    for _attempt in range(_ATTEMPTS):
        inputs = planning_inputs(session=session, project_id=project_id, version=version, feedback=feedback)
        drafted = make(inputs)
        try:
            plan = store_draft(
                session, inputs=inputs, drafted=drafted, created_by=created_by, actor=actor, feedback=kept_feedback
            )
            session.commit()
            return plan
        except (StaleInputs, IntegrityError):
            session.rollback()
    raise Conflict("The plan kept changing while this version was drafted; retry it.")


def propose(*, session: Session, project_id: str, planner: str = "template", actor: str = "ai") -> TaskPlanDB:
    """The AI proposes a plan from the project's brief: the next version, `proposed`, created by the AI."""
    chosen = get_planner(planner)
    plan = _plan_and_store(
        session,
        project_id=project_id,
        version=None,
        feedback=None,
        make=lambda inputs: draft_now(chosen, inputs.request),
        created_by="ai",
        actor=actor,
        kept_feedback=None,
    )
    log.info("plan proposed", project_id=project_id, version=plan.version, planner=chosen.name)
    return plan


def default_base(*, session: Session, project_id: str) -> TaskPlanDB:
    """The version a revision starts from when none is named: the accepted one, else the newest proposal."""
    project = projects.get(session=session, project_id=project_id)
    if project.active_plan_id is not None:
        return active(session=session, project_id=project_id)
    newest = session.exec(
        select(TaskPlanDB)
        .where(TaskPlanDB.project_id == project_id, TaskPlanDB.status == PROPOSED)
        .order_by(col(TaskPlanDB.version).desc())
    ).first()
    if newest is None:
        raise NotFound(
            f"Project {project_id!r} has no plan to revise yet: propose one first.", resource="plan", id=None
        )
    return newest


def revise(
    *,
    session: Session,
    project_id: str,
    version: int | None,
    feedback: Feedback,
    planner: str = "template",
    actor: str = "user",
) -> TaskPlanDB:
    """The AI revises a version from the user's feedback: the next version, based on that one.

    Without a version, it revises the accepted plan (or, before any is accepted, the newest proposal).
    """
    if version is None:
        version = default_base(session=session, project_id=project_id).version
        session.rollback()
    chosen = get_planner(planner)
    plan = _plan_and_store(
        session,
        project_id=project_id,
        version=version,
        feedback=feedback,
        make=lambda inputs: draft_now(chosen, inputs.request),
        created_by="ai",
        actor=actor,
        kept_feedback=feedback,
    )
    log.info("plan revised", project_id=project_id, version=plan.version, based_on=version)
    return plan


def edit(
    *,
    session: Session,
    project_id: str,
    version: int,
    draft: PlanDraft | None = None,
    edits: list[Edit] | None = None,
    note: str | None = None,
    actor: str = "user",
) -> TaskPlanDB:
    """The user's own version: a whole plan, or structured edits of a version; the next version, by the user."""
    if (draft is None) == (edits is None):
        raise InvalidInput(
            "Send either a whole plan or a list of edits.",
            errors=[{"loc": ["body"], "msg": "exactly one of 'plan' and 'edits'", "type": "one_of"}],
        )
    feedback = Feedback(text=note, edits=edits or []) if (note or edits) else None

    def make(inputs: PlanningInputs) -> Drafted:
        if draft is not None:
            return Drafted(draft, Provenance(planner="user"))
        edited = get_planner("template").propose(inputs.request)
        return Drafted(edited, Provenance(planner="user"))

    plan = _plan_and_store(
        session,
        project_id=project_id,
        version=version,
        feedback=Feedback(text=None, edits=edits) if edits is not None else None,
        make=make,
        created_by="user",
        actor=actor,
        kept_feedback=feedback,
    )
    log.info("plan edited", project_id=project_id, version=plan.version, based_on=version)
    return plan


def _carry_progress(
    session: Session, old_tasks: list[TaskDB], new_rows: Sequence[Row[Any]], *, project: ProjectDB
) -> bool:
    """Give each task of the new version what the same code had in the old one: artifacts, context, progress.

    Artifacts and the task's context always follow the code (an agent's uploads are never stranded on a
    superseded task); status, timestamps, summary and claim follow when the task had moved at all. Only the new
    tasks that receive progress are loaded as models. Says whether any new task changed.
    """
    old_by_code = {task.code: task for task in old_tasks}
    pairs: dict[int, int] = {old_by_code[row.code].id: row.id for row in new_rows if row.code in old_by_code}  # type: ignore[misc]  # ids of stored rows are set (SQLModel types them Optional)
    if not pairs:
        return False
    progressed = [
        task
        for task in old_tasks
        if task.id in pairs and (task.status != task_states.PENDING or task.claimed_by is not None)
    ]
    if progressed:
        targets = session.exec(select(TaskDB).where(col(TaskDB.id).in_([pairs[t.id] for t in progressed]))).all()  # type: ignore[index]  # ids of stored rows are set (SQLModel types them Optional)
        by_id = {task.id: task for task in targets}
        for before in progressed:
            task = by_id[pairs[before.id]]  # type: ignore[index]  # ids of stored rows are set (SQLModel types them Optional)
            for name in CARRIED:
                setattr(task, name, getattr(before, name))
            session.add(task)
            # The claim moved with the code: the superseded row no longer holds one (nor expires one later).
            before.claimed_by = None
            before.lease_expires_at = None
            session.add(before)
    for artifact in session.exec(select(ArtifactDB).where(col(ArtifactDB.task_id).in_(pairs))).all():
        artifact.task_id = pairs[artifact.task_id]  # type: ignore[index]  # selected by task_id in pairs: never None
        session.add(artifact)
    old_contexts = session.exec(
        select(ContextDB).where(
            ContextDB.project_id == project.id,
            ContextDB.scope == "task",
            col(ContextDB.task_id).in_(pairs),
            col(ContextDB.is_active) == true(),
        )
    ).all()
    for old_context in old_contexts:
        contexts.append(
            session,
            project=project,
            task_id=pairs[old_context.task_id],  # type: ignore[index]  # selected by task_id in pairs: never None
            content=contexts.content_of(old_context),
            source="ai-generate",
            created_by="system",
            actor="system",
            summary=f"Carried over from task {old_context.task_id} of the previous accepted plan",
            limit_size=False,
        )
    return bool(progressed)


def _withdraw_dropped(
    session: Session,
    project: ProjectDB,
    old_tasks: list[TaskDB],
    new_tasks: Sequence[Row[Any]],
    *,
    version: int,
    actor: str,
) -> None:
    """Close each open task of the old plan that the new one no longer has: never left claimed and in progress."""
    kept = {task.code for task in new_tasks}
    for task in old_tasks:
        if task.code not in kept and task.status not in task_states.RESOLVED:
            task_execution.withdraw(
                session,
                project,
                task,
                reason=f"Cancelled by re-plan: plan version {version}, accepted by {actor}, no longer has {task.code}.",
                actor=actor,
            )


def accept(*, session: Session, project_id: str, version: int, actor: str = "user") -> TaskPlanDB:
    """The user accepts a version: it becomes the active plan and the project goes active.

    Accepting the already accepted version again changes nothing; accepting a superseded one is a 409.
    """
    project = projects.lock(session=session, project_id=project_id)
    plan = get(session=session, project_id=project_id, version=version)
    if plan.status == ACCEPTED:
        return plan
    if plan.status != PROPOSED:
        raise Conflict(
            f"Version {version} is {plan.status}: only a proposed version can be accepted.",
            plan_status=plan.status,
            reason=plan.decision_reason,
        )
    previous = session.get(TaskPlanDB, project.active_plan_id) if project.active_plan_id else None
    plan.status = ACCEPTED
    plan.decided_at = utc_now()
    session.add(plan)
    if previous is not None:
        _supersede(session, project, previous, reason=f"Replaced by version {version}", actor=actor)
    for other in session.exec(
        select(TaskPlanDB).where(
            TaskPlanDB.project_id == project_id, TaskPlanDB.status == PROPOSED, TaskPlanDB.id != plan.id
        )
    ).all():
        _supersede(session, project, other, reason=f"Version {version} was accepted instead", actor=actor)
    old_tasks = tasks_of(session=session, plan=previous) if previous is not None else []
    # The new tasks as columns: 1,000 models cost more than the rest of an accept. A re-plan changes the old
    # tasks (models) and only those new ones that receive progress (loaded as models, then read again).
    new_tasks = task_rows(session=session, plan_id=plan.id)
    if old_tasks:
        carried = _carry_progress(session, old_tasks, new_tasks, project=project)
        _withdraw_dropped(session, project, old_tasks, new_tasks, version=version, actor=actor)
        session.flush()
        if carried:
            new_tasks = task_rows(session=session, plan_id=plan.id)
    project.active_plan_id = plan.id
    outbox.record(
        session,
        project_id=project_id,
        type="plan.accepted",
        data={
            "plan_id": plan.id,
            "version": version,
            "previous_version": previous.version if previous else None,
            "tasks": len(new_tasks),
        },
        actor=actor,
    )
    unclaimed = [t for t in task_states.ready_tasks(new_tasks) if t.claimed_by is None]
    projects.set_current_task(session, project=project, current=unclaimed[0] if unclaimed else None, actor=actor)
    projects.set_status(session, project, "completed" if task_states.all_resolved(new_tasks) else "active", actor=actor)
    session.flush()
    contexts.on_plan_accepted(
        session,
        project=project,
        plan=plan,
        plan_tasks=new_tasks,
        previous=previous,
        previous_tasks=old_tasks,
        actor=actor,
    )
    session.commit()
    log.info("plan accepted", project_id=project_id, version=version)
    return plan


def reject(*, session: Session, project_id: str, version: int, reason: str, actor: str = "user") -> TaskPlanDB:
    """The user rejects a proposed version, with a reason; nothing else changes. Repeating it is harmless."""
    project = projects.lock(session=session, project_id=project_id)
    plan = get(session=session, project_id=project_id, version=version)
    if plan.status == REJECTED:
        return plan
    if plan.status == ACCEPTED:
        raise Conflict(
            f"Version {version} is the accepted plan: propose or edit a new version instead of rejecting it.",
            plan_status=plan.status,
        )
    if plan.status != PROPOSED:
        raise Conflict(
            f"Version {version} is {plan.status} ({plan.decision_reason}): only a proposed version can be rejected.",
            plan_status=plan.status,
            reason=plan.decision_reason,
        )
    plan.status = REJECTED
    plan.decision_reason = reason
    plan.decided_at = utc_now()
    session.add(plan)
    outbox.record(
        session,
        project_id=project_id,
        type="plan.rejected",
        data={"plan_id": plan.id, "version": version, "reason": reason},
        actor=actor,
    )
    session.commit()
    log.info("plan rejected", project_id=project.id, version=version)
    return plan
