"""Projects: create, read, list, update and delete; each call is one transaction."""

import re
import unicodedata
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row, and_, delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.app import jsondoc, outbox
from gateway.app.db import (
    ArtifactDB,
    ContextDB,
    EventDB,
    JobDB,
    ProjectDB,
    ProjectMemberDB,
    TaskDB,
    TaskPlanDB,
    TokenProjectDB,
    utc_now,
)
from gateway.app.errors import AlreadyExists, InvalidInput
from gateway.app.logging import get_logger
from gateway.app.planner import GameBrief, game_defaults
from gateway.app.schemas.common import KEY_CURSOR, decode_cursor, encode_cursor
from gateway.app.schemas.projects import ProjectCreate, ProjectUpdate
from gateway.app.services import artifacts, contexts, lookups
from gateway.app.services.common import Page, creation_key
from gateway.app.storage import BlobStore

log = get_logger(__name__)

_SLUG_ATTEMPTS = 5


def slugify(name: str) -> str:
    """A URL-safe id from a name: 'Star Courier!' → 'star-courier'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48].strip("-")
    return slug or "project"


def _free_slug(session: Session, base: str) -> str:
    taken = set(
        session.exec(
            select(ProjectDB.id).where(or_(col(ProjectDB.id) == base, col(ProjectDB.id).like(f"{base}-%")))
        ).all()
    )
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


def get(*, session: Session, project_id: str) -> ProjectDB:
    """The project, or NotFound."""
    return lookups.get_project(session=session, project_id=project_id)


def lock(*, session: Session, project_id: str) -> ProjectDB:
    """The project, locked until the transaction ends (see lookups.lock_project)."""
    return lookups.lock_project(session=session, project_id=project_id)


def set_status(session: Session, project: ProjectDB, status: str, *, actor: str) -> None:
    """Move the project to a status (draft, consensus, active, completed), announcing the change."""
    if project.status == status:
        return
    outbox.record(
        session,
        project_id=project.id,
        type="project.status_changed",
        data={"from": project.status, "to": status},
        actor=actor,
    )
    project.status = status
    project.updated_at = utc_now()
    session.add(project)


def set_current_task(session: Session, *, project: ProjectDB, current: TaskDB | Row[Any] | None, actor: str) -> None:
    """Point the project at a task (its first ready one nobody holds, as the caller found it) or at nothing."""
    current_id = current.id if current else None
    if current_id == project.current_task_id:
        return
    project.current_task_id = current_id
    session.add(project)
    outbox.record(
        session,
        project_id=project.id,
        type="task.current_changed",
        data={"task_id": current_id, "code": current.code if current else None},
        actor=actor,
    )


def create(*, session: Session, data: ProjectCreate, owner_id: int | None = None) -> ProjectDB:
    """Create a project; its id is the one given (409 if taken) or a free slug of its name.

    `owner_id` (a user's principal id) becomes the project's first member.
    """
    for _attempt in range(_SLUG_ATTEMPTS):
        project_id = data.id or _free_slug(session, slugify(data.name))
        if data.id is not None and session.get(ProjectDB, data.id) is not None:
            raise AlreadyExists(f"A project with id {data.id!r} already exists.", resource="project", id=data.id)
        brief = data.brief or GameBrief()
        if brief.title is None:
            brief = brief.model_copy(update={"title": data.name})
        project = ProjectDB(
            id=project_id,
            name=data.name,
            description=data.description,
            brief=brief.model_dump(mode="json"),
            require_review=data.require_review,
        )
        session.add(project)
        try:
            session.flush()
            outbox.record(
                session,
                project_id=project_id,
                type="project.created",
                data={"name": project.name, "genre": brief.genre, "engine": brief.engine},
                actor="user",
            )
            contexts.initial(session, project=project, defaults=game_defaults(brief))
            if owner_id is not None:
                session.add(ProjectMemberDB(project_id=project_id, principal_id=owner_id))
            session.commit()
        except IntegrityError:
            # Another request took the id between our check and our insert.
            session.rollback()
            if data.id is not None:
                raise AlreadyExists(
                    f"A project with id {data.id!r} already exists.", resource="project", id=data.id
                ) from None
            continue
        log.info("project created", project_id=project.id)
        return project
    raise AlreadyExists("Could not find a free id for this name; give one explicitly.", resource="project")


def list_(
    *,
    session: Session,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    member_id: int | None = None,
    only: frozenset[str] | None = None,
) -> Page[ProjectDB]:
    """A page of projects, newest first: all, or those a user belongs to (`member_id`), or `only` these ids."""
    sort = creation_key(session, ProjectDB.created_at)
    statement = select(ProjectDB, sort)
    if member_id is not None:
        members = select(ProjectMemberDB.project_id).where(ProjectMemberDB.principal_id == member_id)
        statement = statement.where(col(ProjectDB.id).in_(members))
    if only is not None:
        statement = statement.where(col(ProjectDB.id).in_(sorted(only)))
    if status is not None:
        statement = statement.where(ProjectDB.status == status)
    if cursor is not None:
        after_key, after_id = decode_cursor(cursor, KEY_CURSOR, float, str)
        statement = statement.where(or_(sort < after_key, and_(sort == after_key, ProjectDB.id < after_id)))
    statement = statement.order_by(sort.desc(), col(ProjectDB.id).desc()).limit(limit + 1)
    rows = session.exec(statement).all()
    items = [project for project, _key in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last, last_key = rows[limit - 1]
        next_cursor = encode_cursor(float(last_key), last.id)
    return Page(items=items, next_cursor=next_cursor)


def update(*, session: Session, project_id: str, data: ProjectUpdate) -> ProjectDB:
    """Change a project's name, description, review rule, or part of its brief (merged into the current one)."""
    project = get(session=session, project_id=project_id)
    changes = data.model_dump(exclude_unset=True)
    if "brief" in changes:
        changes["brief"] = _merged_brief(project, changes["brief"])
    for field, value in changes.items():
        setattr(project, field, value)
    if changes:
        project.updated_at = utc_now()
        session.add(project)
        outbox.record(
            session, project_id=project_id, type="project.updated", data={"fields": sorted(changes)}, actor="user"
        )
        session.commit()
        log.info("project updated", project_id=project_id, fields=sorted(changes))
    return project


def _merged_brief(project: ProjectDB, patch: dict[str, Any]) -> dict[str, Any]:
    """The project's brief with a merge patch applied, validated as a whole (fields left out are kept)."""
    current = project.brief or {"title": project.name}
    try:
        brief = GameBrief.model_validate(jsondoc.merge_patch(current, patch))
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "brief", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput("The brief would not be valid with these changes.", errors=errors) from None
    return brief.model_dump(mode="json")


def delete_(*, session: Session, project_id: str, store: BlobStore | None = None) -> None:
    """Delete a project and everything that belongs to it (its stored files too, unless shared)."""
    project = get(session=session, project_id=project_id)
    blobs = set(
        session.exec(
            select(ArtifactDB.sha256).where(ArtifactDB.project_id == project_id, col(ArtifactDB.sha256).is_not(None))
        ).all()
    )
    # Recorded first (it locks the project row); the outbox inserts it at the commit, after the delete below,
    # so the project's subscribers get a last event and its stream stays readable until retention drops it.
    outbox.record(session, project_id=project_id, type="project.deleted", data={"name": project.name}, actor="user")
    for table in (EventDB, JobDB, ContextDB, ArtifactDB, TaskDB, TaskPlanDB, ProjectMemberDB, TokenProjectDB):
        session.execute(delete(table).where(col(table.project_id) == project_id))
    session.delete(project)
    session.commit()
    if store is not None:
        for sha256 in blobs:
            artifacts.forget_blob(session, store, sha256)  # type: ignore[arg-type]  # the query selects only rows whose sha256 is not NULL
    log.info("project deleted", project_id=project_id, files=len(blobs))
