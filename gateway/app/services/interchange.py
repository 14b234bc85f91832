"""Plans in and out: import another tool's files as a proposed version; export a version as a document."""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.app import task_states
from gateway.app.db import ContextDB, TaskDB, TaskPlanDB, utc_now
from gateway.app.errors import Conflict, InvalidInput
from gateway.app.interchange import Imported, SourceFile, file_digest, native, parse
from gateway.app.interchange import export as exporters
from gateway.app.logging import get_logger
from gateway.app.planner.base import Provenance
from gateway.app.services import contexts, lookups, plans

log = get_logger(__name__)

T = TypeVar("T")
EXPORT_FORMATS = {
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}


def find_import(session: Session, *, project_id: str, digest: str) -> TaskPlanDB | None:
    """The version an identical import already made, if any."""
    candidates = session.exec(
        select(TaskPlanDB).where(TaskPlanDB.project_id == project_id, col(TaskPlanDB.details).contains(digest))
    ).all()
    for plan in candidates:
        if ((plan.details or {}).get("import") or {}).get("digest") == digest:
            return plan
    return None


def import_plan(
    *,
    session: Session,
    project_id: str,
    files: list[SourceFile],
    format: str = "auto",
    options: dict[str, Any] | None = None,
    actor: str = "user",
) -> tuple[TaskPlanDB, Imported, bool]:
    """Import files as the project's next version, proposed (a person accepts it).

    A malformed file is refused before anything is written; the same files imported again answer the
    version the first import made (created = False) and change nothing.
    """
    options = {key: value for key, value in (options or {}).items() if value is not None}
    imported = parse(files, format=format, options=options)
    digest = file_digest(imported.tool, files, options)

    def use_case() -> tuple[TaskPlanDB, bool]:
        project = lookups.lock_project(session=session, project_id=project_id)
        existing = find_import(session, project_id=project_id, digest=digest)
        if existing is not None:
            session.rollback()
            return existing, False
        plan = plans._write_version(
            session,
            project=project,
            draft=imported.draft,
            created_by="user",
            actor=actor,
            provenance=Provenance(planner=f"import:{imported.tool}"),
        )
        # A new value, not the one read changed in place: the column sees only assignments.
        plan.details = {
            **(plan.details or {}),
            "import": {
                "tool": imported.tool,
                "digest": digest,
                "files": [source.name for source in files][:100],
                "options": options,
                "unmapped": imported.unmapped[:200],
            },
        }
        session.add(plan)
        _carry_imported_progress(session, plan, imported.progress)
        session.commit()
        return plan, True

    plan, created = _retrying(session, use_case)
    log.info("plan imported", project_id=project_id, version=plan.version, tool=imported.tool, created=created)
    return plan, imported, created


def _retrying(session: Session, use_case: Callable[[], T]) -> T:
    """Run the import; when a racing writer took the same version number first, roll back and run it again."""
    for _attempt in range(5):
        try:
            return use_case()
        except IntegrityError:
            session.rollback()
    raise Conflict("The plan changed under this import too many times; retry it.")


def _carry_imported_progress(session: Session, plan: TaskPlanDB, progress: dict[str, dict[str, Any]]) -> None:
    """The statuses the other tool recorded (done, cancelled, blocked, review), on the new version's tasks."""
    if not progress:
        return
    now = utc_now()
    for task in session.exec(select(TaskDB).where(TaskDB.plan_id == plan.id)).all():
        carried = progress.get(task.code or "")
        if carried is None:
            continue
        task.status = carried["status"]
        if task.status == task_states.BLOCKED:
            task.blocked_reason = carried.get("reason") or "Blocked in the imported plan"
        if task.status in (task_states.DONE, task_states.CANCELLED):
            task.completed_at = now
        task.summary = "Imported as " + task.status
        session.add(task)


def _plan_data(session: Session, plan: TaskPlanDB) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    rows = plans.tasks_of(session=session, plan=plan)
    draft = plans.to_draft(plan, rows)
    status_by_code = {row.code: row.status for row in rows}
    data = {
        "version": plan.version,
        "status": plan.status,
        "summary": draft.summary,
        "details": plan.details or {},
        "milestones": [m.model_dump(mode="json") for m in getattr(draft, "milestones", [])],
    }
    tasks = [
        {**task.model_dump(mode="json"), "status": status_by_code.get(task.code, task_states.PENDING)}
        for task in draft.tasks
    ]
    return draft, data, tasks


def export_plan(*, session: Session, project_id: str, version: int, format: str) -> tuple[str, str, str]:
    """A version as Markdown, CSV or the gateway's own JSON: (text, media type, file name)."""
    if format not in EXPORT_FORMATS:
        raise InvalidInput(
            f"Unknown export format {format!r}: use markdown, csv or json.",
            errors=[{"loc": ["query", "format"], "msg": "unknown format", "type": "enum"}],
        )
    project = lookups.get_project(session=session, project_id=project_id)
    plan = plans.get(session=session, project_id=project_id, version=version)
    draft, data, tasks = _plan_data(session, plan)
    media_type, extension = EXPORT_FORMATS[format]
    if format == "json":
        text = native.dump(draft)
    elif format == "csv":
        text = exporters.csv_text(plan=data, tasks=tasks)
    else:
        context = session.get(ContextDB, project.active_context_id) if project.active_context_id else None
        project_data = {
            "id": project.id,
            "name": project.name,
            "brief": project.brief,
        }
        text = exporters.markdown(
            project=project_data, plan=data, tasks=tasks, context=contexts.content_of(context) if context else None
        )
    return text, media_type, f"{project_id}-plan-v{version}.{extension}"
