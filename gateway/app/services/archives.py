"""A project's whole history as one JSON archive (plans, tasks, contexts, events, artifact metadata), and back.

The archive holds rows as they are; importing gives every row a new id in the receiving gateway and rewrites
the references between rows (a task's plan, a context's task, an artifact's task, the project's active plan,
context and current task). Event payloads are history: ids inside them stay those of the exporting gateway.
Artifact files are not in the archive (metadata only): their `sha256` finds the bytes where a store has them.
"""

import json
import uuid
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from gateway import __version__
from gateway.app import jsondoc, outbox
from gateway.app.db import (
    ArtifactDB,
    ContextDB,
    EventDB,
    JSONText,
    ProjectDB,
    ProjectMemberDB,
    TaskDB,
    TaskPlanDB,
    utc_now,
)
from gateway.app.errors import AlreadyExists, InvalidInput
from gateway.app.logging import get_logger
from gateway.app.schemas.artifacts import ArtifactRead
from gateway.app.schemas.plans import PlanRead
from gateway.app.schemas.projects import ProjectRead
from gateway.app.schemas.tasks import TaskRead
from gateway.app.services import interchange, lookups, plans

Row = TypeVar("Row", bound=SQLModel)

log = get_logger(__name__)
FORMAT, VERSION = "gateway-archive", 1
SECTIONS = {"plans": TaskPlanDB, "tasks": TaskDB, "contexts": ContextDB, "artifacts": ArtifactDB, "events": EventDB}


def _row(model: SQLModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def export_archive(*, session: Session, project_id: str) -> dict[str, Any]:
    """Everything the project is and was, as one JSON document."""
    project = lookups.get_project(session=session, project_id=project_id)

    def rows(table: type[SQLModel], order: Any) -> list[dict[str, Any]]:
        query = select(table).where(table.project_id == project_id).order_by(order)  # type: ignore[attr-defined]  # every table in SECTIONS has project_id; SQLModel does not say so
        return [_row(row) for row in session.exec(query).all()]

    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utc_now().isoformat(),
        "gateway_version": __version__,
        "project": _row(project),
        "plans": rows(TaskPlanDB, col(TaskPlanDB.version)),
        "tasks": rows(TaskDB, col(TaskDB.id)),
        "contexts": rows(ContextDB, col(ContextDB.id)),
        "artifacts": rows(ArtifactDB, col(ArtifactDB.id)),
        "events": rows(EventDB, col(EventDB.seq)),
    }


def _bad(where: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"The archive is malformed at {where}: {message}. Nothing was imported.",
        errors=[{"loc": ["body", *where.split(".")], "msg": message, "type": "malformed_archive"}],
    )


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_context(data: Any, where: str) -> None:
    """A context version's content must read back: a JSON object (as text or value), nested no deeper than the
    gateway can serialise, with nothing JSON cannot carry. Anything else would be stored and then fail every read."""
    if not isinstance(data, dict):
        raise _bad(where, "expected an object")
    content = data.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content, parse_constant=_strict_constant)
        except (ValueError, RecursionError):
            raise _bad(f"{where}.content", "not JSON") from None
    if not isinstance(content, dict):
        raise _bad(f"{where}.content", "a context is a JSON object")
    if jsondoc.depth(content) > jsondoc.READABLE_DEPTH:
        raise _bad(f"{where}.content", f"nested more than {jsondoc.READABLE_DEPTH} levels deep")
    bad = jsondoc.unreadable(content)
    if bad is not None:
        raise _bad(f"{where}.content", f"{bad[1]} at {bad[0] or '/'}")


def _readable(model: Any, value: Any, where: str) -> None:
    try:
        model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        raise _bad(f"{where}.{field}" if field else where, f"would not read back: {first['msg']}") from None


def _check_reads_back(session: Session, project: ProjectDB, archive: dict[str, Any]) -> None:
    """Every imported row reads back through the model the API answers with, or the archive is malformed: a row
    stored as given (a task's deliverables that are not JSON) would otherwise fail every later read of it."""
    _readable(ProjectRead, project, "project")
    for plan in session.exec(select(TaskPlanDB).where(TaskPlanDB.project_id == project.id)).all():
        _readable(PlanRead, plans.full_view(session, plan), f"plans.{plan.version}")
        for format in interchange.EXPORT_FORMATS:  # the strictest reader of a plan's tasks
            try:
                interchange.export_plan(session=session, project_id=project.id, version=plan.version, format=format)
            except ValidationError as exc:
                first = exc.errors(include_url=False, include_input=False)[0]
                where = f"plans.{plan.version}." + ".".join(str(part) for part in first["loc"])
                raise _bad(where, f"would not export as {format}: {first['msg']}") from None
    for task in session.exec(select(TaskDB).where(TaskDB.project_id == project.id)).all():
        _readable(TaskRead, task, f"tasks.{task.code or task.id}")
    for artifact in session.exec(select(ArtifactDB).where(ArtifactDB.project_id == project.id)).all():
        _readable(ArtifactRead, artifact, f"artifacts.{artifact.name}")


def _build(table: type[Row], data: Any, where: str, drop: tuple[str, ...] = ("id",)) -> Row:
    """A table row from archived values: known columns only, datetimes parsed, the id left to the database.

    JSON columns come as values, or as the JSON text archives held before they had a type of their own.
    """
    if not isinstance(data, dict):
        raise _bad(where, "expected an object")
    columns = table.__table__.columns  # type: ignore[attr-defined]  # every table model has one; SQLModel does not say so
    values: dict[str, Any] = {}
    for name, field in table.model_fields.items():
        if name in drop or name not in data:
            continue
        value = data[name]
        if isinstance(value, str) and isinstance(columns[name].type, JSONText):
            try:
                value = json.loads(value)
            except ValueError:
                raise _bad(f"{where}.{name}", "not JSON") from None
        if value is not None and "datetime" in str(field.annotation):
            try:
                value = datetime.fromisoformat(str(value))
            except ValueError:
                raise _bad(f"{where}.{name}", f"not a date-time: {value!r}") from None
        values[name] = value
    try:
        return table.model_validate(values)
    except Exception as exc:
        raise _bad(where, str(exc).splitlines()[0]) from None


def _copy(
    session: Session,
    archive: dict[str, Any],
    section: str,
    table: type[Row],
    project_id: str,
    *,
    drop: tuple[str, ...] = ("id",),
    refers: tuple[str, dict[Any, int | None]] | None = None,
    strict: bool = True,
) -> dict[Any, int | None]:
    """Insert a section's rows into `project_id`, the reference `refers` names rewritten to the new ids (one
    the archive does not hold is refused, or with `strict=False` dropped); answers archived id → new id."""
    ids: dict[Any, int | None] = {}
    for n, data in enumerate(archive[section]):
        row = _build(table, data, f"{section}.{n}", drop=drop)
        row.project_id = project_id
        if refers is not None and data.get(refers[0]) is not None:
            field, new_ids = refers
            if strict and data[field] not in new_ids:
                raise _bad(f"{section}.{n}.{field}", f"names a {field.removesuffix('_id')} the archive does not hold")
            setattr(row, field, new_ids.get(data[field]))
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:  # two rows the database keeps unique (a plan's task codes, plan versions)
            session.rollback()
            constraint = str(exc.orig).splitlines()[0]
            raise _bad(f"{section}.{n}", f"clashes with another row of the archive ({constraint})") from None
        ids[data.get("id")] = row.id  # type: ignore[attr-defined]  # every table in SECTIONS has an id; SQLModel does not say so
    return ids


def import_archive(
    *, session: Session, archive: dict[str, Any], project_id: str | None = None, owner_id: int | None = None
) -> ProjectDB:
    """Recreate an archived project (under its id, or `project_id`), every row with a new id; all or nothing.

    `owner_id` (the importing user's principal id) becomes the project's first member, as on creation.
    """
    if archive.get("format") != FORMAT:
        raise _bad("format", f"expected {FORMAT!r}")
    if archive.get("version") != VERSION:
        raise _bad("version", f"this gateway reads archive version {VERSION}")
    for section in SECTIONS:
        if not isinstance(archive.get(section), list):
            raise _bad(section, "expected a list")
    source = archive.get("project")
    if not isinstance(source, dict) or not source.get("id"):
        raise _bad("project", "expected the project's row")
    new_id = project_id or str(source["id"])
    if session.get(ProjectDB, new_id) is not None:
        raise AlreadyExists(
            f"A project with id {new_id!r} already exists: import under another id.", resource="project", id=new_id
        )
    project = _build(
        ProjectDB, source, "project", drop=("active_plan_id", "active_context_id", "current_task_id", "event_seq")
    )
    project.id = new_id
    session.add(project)
    session.flush()
    if owner_id is not None:
        session.add(ProjectMemberDB(project_id=new_id, principal_id=owner_id))
    # Archived ids (whatever the file holds) to the new rows' ids, section by section.
    plan_ids = _copy(session, archive, "plans", TaskPlanDB, new_id, drop=("id", "based_on_id"))
    for data in archive["plans"]:
        if data.get("based_on_id") is not None:
            session.get_one(TaskPlanDB, plan_ids[data.get("id")]).based_on_id = plan_ids.get(data["based_on_id"])
    task_ids = _copy(session, archive, "tasks", TaskDB, new_id, refers=("plan_id", plan_ids))
    for n, data in enumerate(archive["contexts"]):
        _check_context(data, f"contexts.{n}")
    context_ids = _copy(session, archive, "contexts", ContextDB, new_id, refers=("task_id", task_ids))
    # An artifact of a task the archive does not hold stays, unattached (its metadata is all there is of it).
    _copy(session, archive, "artifacts", ArtifactDB, new_id, refers=("task_id", task_ids), strict=False)
    project.active_plan_id = plan_ids.get(source.get("active_plan_id"))
    project.active_context_id = context_ids.get(source.get("active_context_id"))
    project.current_task_id = task_ids.get(source.get("current_task_id"))
    newest = 0
    pending = session.info.setdefault(outbox.PENDING, [])
    for n, data in enumerate(archive["events"]):
        row = _build(EventDB, data, f"events.{n}")
        if not isinstance(row.seq, int) or row.seq <= newest:
            raise _bad(f"events.{n}.seq", "events must come in increasing seq order")
        row.project_id = new_id
        row.event_id = uuid.uuid4().hex
        newest = row.seq
        pending.append(row)
    project.event_seq = newest
    session.add(project)
    session.flush()
    _check_reads_back(session, project, archive)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AlreadyExists(f"A project with id {new_id!r} already exists.", resource="project", id=new_id) from None
    log.info("project imported", project_id=new_id, plans=len(plan_ids), tasks=len(task_ids), events=newest)
    return project
