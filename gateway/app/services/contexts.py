"""Contexts: append-only versions per key (project, scope, task), exactly one active per key.

Manual edits name the version they were based on (If-Match): a stale edit is refused and writes nothing.
The gateway itself appends versions when a project is created, a plan accepted, a task started or completed;
those updates run inside the transaction of the change that caused them.
"""

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Integer, Row, bindparam, func, literal_column, true, union_all
from sqlmodel import Session, col, select

from gateway.app import jsondoc, outbox, task_states
from gateway.app.db import ContextDB, ProjectDB, TaskDB, TaskPlanDB, key_filters, utc_now
from gateway.app.errors import InvalidInput, NotFound, PayloadTooLarge, PreconditionFailed, PreconditionRequired
from gateway.app.logging import get_logger
from gateway.app.schemas.common import ID_CURSOR, decode_cursor, encode_cursor
from gateway.app.schemas.contexts import CONTENT_MODELS, MAX_CONTEXT_BYTES
from gateway.app.services import artifacts as artifact_service
from gateway.app.services import lookups, task_views
from gateway.app.services.common import Page

log = get_logger(__name__)

NEXT_SHOWN = 5  # how many upcoming tasks the progress section lists
# The keys of a task context the gateway writes when the task starts (anything else was added by hand).
GENERATED_TASK_KEYS = frozenset({"task", "decisions", "dependencies"})
# The progress section stays small whatever the plan's size (the context is what agents read first): the
# latest finished tasks in detail, summaries cut short, every finished code listed.
DONE_SHOWN = 50
SUMMARY_CHARS = 500
ARTIFACTS_SHOWN = 10


def _scope(task_id: int | None) -> str:
    return "global" if task_id is None else "task"


def _key(project_id: str, task_id: int | None) -> list[Any]:
    return key_filters(project_id, _scope(task_id), task_id)


def content_of(row: ContextDB) -> dict[str, Any]:
    """A version's content as JSON."""
    return json.loads(row.content)


def _check_key(session: Session, project_id: str, task_id: int | None) -> None:
    lookups.get_project(session=session, project_id=project_id)
    if task_id is not None:
        lookups.get_task(session=session, project_id=project_id, task_id=task_id)


def validate_content(scope: str, content: Any, *, limit_size: bool = True) -> dict[str, Any]:
    """The content, if it is an object of the documented shape (and, for edits, within the size limit)."""
    if not isinstance(content, dict):
        raise InvalidInput(
            "A context is a JSON object.",
            errors=[{"loc": ["body"], "msg": f"expected an object, got {type(content).__name__}", "type": "type"}],
        )
    nesting = jsondoc.depth(content)
    if nesting > jsondoc.READABLE_DEPTH:
        raise InvalidInput(
            f"A context may nest objects and arrays {jsondoc.READABLE_DEPTH} levels deep; this one has {nesting}.",
            errors=[{"loc": ["body"], "msg": f"nested {nesting} levels deep", "type": "json_depth"}],
        )
    bad = jsondoc.unreadable(content)
    if bad is not None:
        where, why = bad
        raise InvalidInput(
            f"The context cannot hold {why} (at {where or '/'}).",
            errors=[{"loc": ["body", where], "msg": why, "type": "json_value"}],
        )
    size = len(json.dumps(content, ensure_ascii=False).encode())
    if limit_size and size > MAX_CONTEXT_BYTES:
        raise PayloadTooLarge(f"A context may hold {MAX_CONTEXT_BYTES} bytes of JSON; this one has {size}.")
    try:
        CONTENT_MODELS[scope].model_validate(content)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput(f"The {scope} context does not have the documented shape.", errors=errors) from None
    return content


def find_active(session: Session, project_id: str, task_id: int | None = None) -> ContextDB | None:
    """The active version of a key, or None (no check that the project or task exists)."""
    statement = select(ContextDB).where(*_key(project_id, task_id), col(ContextDB.is_active) == true())
    return session.exec(statement).first()


def active_for_task(session: Session, project_id: str, task_id: int) -> tuple[Any, Any]:
    """The active global version and the active version of the task's context, as (version, content) rows (either
    None), read together: one statement, each half found through the active-key index, no ORM objects."""
    result = session.connection().execute(_ACTIVE_PAIR, {"project_id": project_id, "task_id": task_id})
    rows = {row.task_id: row for row in result}
    return rows.get(None), rows.get(task_id)


def _active_of(scope: str, task_key: Any) -> Any:
    task_column = func.coalesce(ContextDB.task_id, literal_column("0"))
    return select(ContextDB.task_id, ContextDB.version, ContextDB.content).where(
        ContextDB.project_id == bindparam("project_id"),
        ContextDB.scope == scope,
        task_column == task_key,
        col(ContextDB.is_active) == true(),
    )


# Built once: the statements are the same for every briefing or start (only the parameters change).
_ACTIVE_GLOBAL = _active_of("global", literal_column("0"))
_ACTIVE_PAIR = union_all(
    _active_of("global", literal_column("0")), _active_of("task", bindparam("task_id", type_=Integer))
)


def append(
    session: Session,
    *,
    project: ProjectDB,
    task_id: int | None,
    content: dict[str, Any],
    source: str,
    created_by: str,
    actor: str,
    summary: str | None = None,
    limit_size: bool = True,
) -> ContextDB:
    """Add the next version of a key and make it the only active one, inside the caller's transaction.

    The size limit guards what people and agents write; the gateway's own updates keep their additions small
    and must never make a task impossible to complete.
    """
    content = validate_content(_scope(task_id), content, limit_size=limit_size)
    previous = find_active(session, project.id, task_id)
    latest = session.exec(select(func.max(ContextDB.version)).where(*_key(project.id, task_id))).one() or 0
    if previous is not None:
        previous.is_active = False
        session.add(previous)
        session.flush()  # the partial unique index allows one active row per key: retire the old one first
    if summary is None:
        summary = jsondoc.describe(jsondoc.diff(content_of(previous) if previous else {}, content))
    row = ContextDB(
        project_id=project.id,
        scope=_scope(task_id),
        task_id=task_id,
        content=json.dumps(content, ensure_ascii=False),
        created_by=created_by,
        source=source,
        version=latest + 1,
        is_active=True,
        summary=summary[:500],
    )
    session.add(row)
    session.flush()
    if task_id is None:
        project.active_context_id = row.id
        session.add(project)
    outbox.record(
        session,
        project_id=project.id,
        type="context.updated",
        data={
            "context_id": row.id,
            "scope": row.scope,
            "task_id": task_id,
            "version": row.version,
            "source": source,
            "summary": row.summary,
        },
        actor=actor,
    )
    return row


# --- Reading -----------------------------------------------------------------------------------------


def get_active(*, session: Session, project_id: str, task_id: int | None = None) -> ContextDB:
    """The active version of the project's global context, or of one of its tasks' contexts."""
    _check_key(session, project_id, task_id)
    row = find_active(session, project_id, task_id)
    if row is None:
        what = "the project" if task_id is None else f"task {task_id}"
        raise NotFound(f"No context for {what} yet.", resource="context", id=task_id)
    return row


def get_version(*, session: Session, project_id: str, version: int, task_id: int | None = None) -> ContextDB:
    """One version of a context."""
    _check_key(session, project_id, task_id)
    row = session.exec(select(ContextDB).where(*_key(project_id, task_id), ContextDB.version == version)).first()
    if row is None:
        raise NotFound(f"No version {version} of this context.", resource="context version", id=version)
    return row


def history(
    *, session: Session, project_id: str, task_id: int | None = None, limit: int, cursor: str | None = None
) -> Page[ContextDB]:
    """A context's versions, newest first."""
    _check_key(session, project_id, task_id)
    statement = select(ContextDB).where(*_key(project_id, task_id))
    if cursor is not None:
        (before,) = decode_cursor(cursor, ID_CURSOR, int)
        statement = statement.where(ContextDB.version < before)
    rows = session.exec(statement.order_by(col(ContextDB.version).desc()).limit(limit + 1)).all()
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1].version) if len(rows) > limit else None)


def diff(
    *, session: Session, project_id: str, from_version: int, to_version: int, task_id: int | None = None
) -> list[dict[str, Any]]:
    """What changed between two versions of a context."""
    old = get_version(session=session, project_id=project_id, version=from_version, task_id=task_id)
    new = get_version(session=session, project_id=project_id, version=to_version, task_id=task_id)
    return jsondoc.diff(content_of(old), content_of(new))


# --- Edits (each one transaction) ----------------------------------------------------------------------


def _check_precondition(current: ContextDB | None, expected_version: int | None, *, required: bool = True) -> None:
    if current is None:
        return  # nothing exists yet: there is nothing to lose
    if expected_version is None:
        if not required:
            return  # appends to the newest version lose nothing, whatever happened since the caller read it
        raise PreconditionRequired(
            "Name the version your edit is based on (If-Match), so that no one's edit is lost.",
            current_version=current.version,
        )
    if expected_version != current.version:
        raise PreconditionFailed(
            f"Version {expected_version} is no longer the active one; version {current.version} is.",
            current_version=current.version,
        )


def _edit(
    session: Session,
    *,
    project_id: str,
    task_id: int | None,
    expected_version: int | None,
    make_content: Any,
    source: str,
    created_by: str,
    actor: str,
    summary: str | None = None,
    version_required: bool = True,
) -> ContextDB:
    project = lookups.lock_project(session=session, project_id=project_id)
    if task_id is not None:
        lookups.get_task(session=session, project_id=project_id, task_id=task_id)
    current = find_active(session, project_id, task_id)
    _check_precondition(current, expected_version, required=version_required)
    content = make_content(content_of(current) if current else None)
    row = append(
        session,
        project=project,
        task_id=task_id,
        content=content,
        source=source,
        created_by=created_by,
        actor=actor,
        summary=summary,
    )
    session.commit()
    log.info("context updated", project_id=project_id, task_id=task_id, version=row.version, source=source)
    return row


def replace(
    *,
    session: Session,
    project_id: str,
    content: Any,
    expected_version: int | None,
    task_id: int | None = None,
    source: str = "manual-edit",
    created_by: str = "user",
    actor: str = "user",
) -> ContextDB:
    """Replace a context's whole content with a new version."""
    return _edit(
        session,
        project_id=project_id,
        task_id=task_id,
        expected_version=expected_version,
        make_content=lambda _current: content,
        source=source,
        created_by=created_by,
        actor=actor,
    )


def patch(
    *,
    session: Session,
    project_id: str,
    patch: Any,
    expected_version: int | None,
    task_id: int | None = None,
    source: str = "manual-edit",
    created_by: str = "user",
    actor: str = "user",
) -> ContextDB:
    """Apply a JSON Merge Patch (RFC 7386) to the active version, as a new version."""
    if not isinstance(patch, dict):
        raise InvalidInput(
            "A merge patch for a context is a JSON object.",
            errors=[{"loc": ["body"], "msg": "expected an object", "type": "type"}],
        )

    def patched(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None:
            raise NotFound("There is no context to patch yet; PUT a whole one.", resource="context", id=task_id)
        return jsondoc.merge_patch(current, patch)

    return _edit(
        session,
        project_id=project_id,
        task_id=task_id,
        expected_version=expected_version,
        make_content=patched,
        source=source,
        created_by=created_by,
        actor=actor,
    )


def json_patch(
    *,
    session: Session,
    project_id: str,
    operations: Any,
    expected_version: int | None,
    task_id: int | None = None,
    source: str = "manual-edit",
    created_by: str = "user",
    actor: str = "user",
) -> ContextDB:
    """Apply a JSON Patch (RFC 6902) to the active version, as a new version.

    `add` at `/decisions/-` (any array's end) appends without touching what is there: a patch made only of such
    appends needs no base version, since it cannot lose anyone's edit; any other patch does (If-Match).
    """
    if not isinstance(operations, list) or not operations:
        raise InvalidInput(
            "A JSON Patch is a non-empty array of operations.",
            errors=[{"loc": ["body"], "msg": "expected an array of operations", "type": "type"}],
        )

    def patched(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None:
            raise NotFound("There is no context to patch yet; PUT a whole one.", resource="context", id=task_id)
        try:
            return jsondoc.apply_json_patch(current, operations)
        except jsondoc.PatchError as exc:
            raise InvalidInput(
                f"Operation {exc.index} of the patch cannot apply: {exc.message}.",
                errors=[{"loc": ["body", exc.index, exc.field], "msg": exc.message, "type": "json_patch"}],
            ) from None

    return _edit(
        session,
        project_id=project_id,
        task_id=task_id,
        expected_version=expected_version,
        make_content=patched,
        source=source,
        created_by=created_by,
        actor=actor,
        version_required=not all(jsondoc.is_append(op) for op in operations),
    )


def append_entries(
    *,
    session: Session,
    project_id: str,
    entries: dict[str, list[Any]],
    task_id: int | None = None,
    expected_version: int | None = None,
    source: str = "manual-edit",
    created_by: str = "user",
    actor: str = "user",
) -> ContextDB:
    """Add entries at the end of lists of the active version (decisions, constraints, notes…), as a new version.

    Nothing already there is replaced, so no base version is needed; a list that does not exist yet is created.
    A decision gets `by` (the actor) and `when` (now) unless it says otherwise.
    """
    operations: list[dict[str, Any]] = []
    for key, items in entries.items():
        if not isinstance(items, list) or not items:
            raise InvalidInput(
                f"Give '{key}' a non-empty list of entries to add.",
                errors=[{"loc": ["append", key], "msg": "expected a non-empty list", "type": "list_type"}],
            )
        for item in items:
            value = (
                {"by": actor, "when": utc_now().isoformat(), **item}
                if key == "decisions" and isinstance(item, dict)
                else item
            )
            operations.append({"op": "add", "path": jsondoc.pointer([key, "-"]), "value": value})

    def appended(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None:
            raise NotFound("There is no context to add to yet.", resource="context", id=task_id)
        for key in entries:
            if key not in current:
                current[key] = []
            elif not isinstance(current[key], list):
                raise InvalidInput(
                    f"'{key}' is not a list in this context: change it with a patch instead.",
                    errors=[{"loc": ["append", key], "msg": "not a list in the context", "type": "not_a_list"}],
                )
        return jsondoc.apply_json_patch(current, operations)

    return _edit(
        session,
        project_id=project_id,
        task_id=task_id,
        expected_version=expected_version,
        make_content=appended,
        source=source,
        created_by=created_by,
        actor=actor,
        version_required=False,
    )


def restore(
    *,
    session: Session,
    project_id: str,
    version: int,
    expected_version: int | None,
    task_id: int | None = None,
    actor: str = "user",
) -> ContextDB:
    """Bring an old version back as the newest one (history is never rewritten)."""
    old = get_version(session=session, project_id=project_id, version=version, task_id=task_id)
    return _edit(
        session,
        project_id=project_id,
        task_id=task_id,
        expected_version=expected_version,
        make_content=lambda _current: content_of(old),
        source="manual-edit",
        created_by="user",
        actor=actor,
        summary=f"Restored version {version}",
    )


# --- Automatic updates (inside the caller's transaction) ----------------------------------------------


def initial(session: Session, *, project: ProjectDB, defaults: dict[str, Any]) -> ContextDB:
    """Version 1 of a new project's global context, from its brief and game template."""
    content = {
        "game": defaults.get("game", {}),
        "conventions": defaults.get("conventions", {}),
        "decisions": [],
        "constraints": defaults.get("constraints", []),
        "glossary": defaults.get("glossary", {}),
        "progress": {"plan": None, "total": 0, "done": [], "in_progress": [], "next": []},
    }
    content |= {key: value for key, value in defaults.items() if key not in content}
    return append(
        session,
        project=project,
        task_id=None,
        content=content,
        source="template-default",
        created_by="system",
        actor="system",
        summary="Created from the project's brief and game template",
        limit_size=False,
    )


def _plan_tasks(session: Session, plan_id: int) -> list[TaskDB]:
    return list(session.exec(select(TaskDB).where(TaskDB.plan_id == plan_id).order_by(col(TaskDB.idx))).all())


def _progress(
    session: Session, plan: TaskPlanDB, plan_tasks: Sequence[TaskDB | Row[Any]] | None = None
) -> dict[str, Any]:
    if plan_tasks is None:
        plan_tasks = _plan_tasks(session, plan.id)  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
    done = sorted(
        (t for t in plan_tasks if t.status == task_states.DONE), key=lambda t: (t.completed_at or utc_now(), t.idx)
    )
    shown = done[-DONE_SHOWN:]
    artifacts = artifact_service.by_task(session, [t.id for t in shown])  # type: ignore[misc]  # ids of stored rows are set (SQLModel types them Optional)

    def item(task: TaskDB | Row[Any], **extra: Any) -> dict[str, Any]:
        return {"code": task.code, "title": task.title, **extra}

    def short(text: str | None) -> str | None:
        return text if text is None or len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"

    return {
        "plan": {"id": plan.id, "version": plan.version, "summary": plan.summary},
        "total": len(plan_tasks),
        "done_count": len(done),
        "done_codes": [t.code for t in done],
        "done": [
            item(t, summary=short(t.summary), artifacts=artifacts.get(t.id, [])[:ARTIFACTS_SHOWN])  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
            for t in shown
        ],
        "in_progress": [item(t, status=t.status) for t in plan_tasks if t.status in task_states.ACTIVE],
        "next": [item(t) for t in task_states.ready_tasks(plan_tasks)[:NEXT_SHOWN]],
    }


def _global_content(session: Session, project: ProjectDB) -> dict[str, Any]:
    # The content only (a copy to build on): read as a column, by a statement built once.
    current: Any = session.connection().execute(_ACTIVE_GLOBAL, {"project_id": project.id}).first()
    if current is not None:
        return content_of(current)
    return {
        "game": {},
        "conventions": {},
        "decisions": [],
        "constraints": [],
        "glossary": {},
        "progress": {"plan": None, "total": 0, "done": [], "in_progress": [], "next": []},
    }


def on_plan_accepted(
    session: Session,
    *,
    project: ProjectDB,
    plan: TaskPlanDB,
    plan_tasks: Sequence[TaskDB | Row[Any]],
    previous: TaskPlanDB | None,
    previous_tasks: Sequence[TaskDB | Row[Any]],
    actor: str,
) -> ContextDB:
    """A new global version whose progress and decision log reflect the newly accepted plan (tasks as loaded)."""
    content = _global_content(session, project)
    content["progress"] = _progress(session, plan, plan_tasks)
    codes = {t.code for t in plan_tasks}
    decision: dict[str, Any] = {
        "what": f"Accepted plan version {plan.version} ({len(codes)} tasks)",
        "why": plan.summary,
        "when": utc_now().isoformat(),
        "by": actor,
        "plan_id": plan.id,
    }
    change_note = ""
    if previous is not None:
        old_codes = {t.code for t in previous_tasks}
        added, removed = sorted(codes - old_codes), sorted(old_codes - codes)  # type: ignore[type-var]  # codes of a plan's tasks are never None
        decision["replaces"] = {"plan_id": previous.id, "version": previous.version, "added": added, "removed": removed}
        change_note = f" (+{len(added)} -{len(removed)} tasks vs version {previous.version})"
    content.setdefault("decisions", []).append(decision)
    upcoming = content["progress"]["next"]
    next_note = f"; next {upcoming[0]['code']}" if upcoming else ""
    return append(
        session,
        project=project,
        task_id=None,
        content=content,
        source="ai-generate",
        created_by="system",
        actor=actor,
        summary=f"Plan version {plan.version} accepted: {len(codes)} tasks{change_note}{next_note}",
        limit_size=False,
    )


def relevant_decisions(decisions: list[dict[str, Any]], codes: set[str | None]) -> list[dict[str, Any]]:
    """Project-wide decisions, and those that came from the task or the tasks it depends on.

    The gateway's own records of plan acceptances (they carry a `plan_id`) are left out: the plan's history says
    that, and a task's briefing has no use for it.
    """
    return [d for d in decisions if "plan_id" not in d and (not d.get("task") or d.get("task") in codes)]


def on_task_started(session: Session, *, project: ProjectDB, task: TaskDB, actor: str) -> ContextDB:
    """(Re)generate a task's context: the task named, the decisions that bear on it, what its dependencies produced.

    The game, conventions and the task's own fields are not copied: they live in the global context and the task,
    and a briefing shows each once.
    """
    global_content = _global_content(session, project)
    dependency_rows = task_views.dependencies_of(session, task)
    artifacts = artifact_service.by_task(session, [t.id for t in dependency_rows])  # type: ignore[misc]  # ids of stored rows are set (SQLModel types them Optional)
    generated = {
        "task": task_views.ref(task),
        "decisions": relevant_decisions(
            global_content.get("decisions", []), {task.code, *(d.code for d in dependency_rows)}
        ),
        "dependencies": [
            task_views.dependency(dep, artifacts=artifacts.get(dep.id, []))  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
            for dep in dependency_rows
        ],
    }
    current = find_active(session, project.id, task.id)
    if current is not None:  # keep what a person added by hand to the previous version
        generated = {**content_of(current), **generated}
    return append(
        session,
        project=project,
        task_id=task.id,
        content=generated,
        source="ai-generate",
        created_by="system",
        actor=actor,
        summary=f"Generated for {task.code or task.title} from the global context"
        f" and {len(dependency_rows)} dependencies",
        limit_size=False,
    )


def current_content(session: Session, row: ContextDB) -> dict[str, Any]:
    """A version's content as it reads now: the active global version's `progress` is computed at read time
    (counters are not memory: completing a task writes no context version for them)."""
    content = content_of(row)
    if row.scope == "global" and row.is_active:
        project = session.get(ProjectDB, row.project_id)
        plan = session.get(TaskPlanDB, project.active_plan_id) if project and project.active_plan_id else None
        if plan is not None:
            content["progress"] = _progress(session, plan)
    return content
