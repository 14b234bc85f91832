"""Artifacts of a project: files (uploaded, handed in, or from the workspace) validated for real, and metadata."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import sqlalchemy
from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select, text

from gateway.app import outbox, task_states
from gateway.app.db import ArtifactDB, DatabaseManager, ProjectDB, utc_now
from gateway.app.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, StorageFull
from gateway.app.logging import get_logger
from gateway.app.schemas.artifacts import ArtifactCreate, ArtifactUpdate, check_relative_path
from gateway.app.services import lookups
from gateway.app.services.common import Page, page_by_id
from gateway.app.storage import TEMP_GRACE_SECONDS, Blob, BlobStore, resolve_in_workspace, safe_filename
from gateway.app.validation import DEFAULT_LIMITS, Limits, ValidationReport, validate
from gateway.app.validation.paths import normalise_path

log = get_logger(__name__)

MAX_PATH_CHARS = 1024


def get(*, session: Session, project_id: str, artifact_id: int) -> ArtifactDB:
    """The project's artifact, or NotFound (also when it belongs to another project)."""
    artifact = session.get(ArtifactDB, artifact_id)
    if artifact is None or artifact.project_id != project_id:
        lookups.get_project(session=session, project_id=project_id)
        raise NotFound(f"No artifact {artifact_id} in project {project_id!r}.", resource="artifact", id=artifact_id)
    return artifact


# Columns, not models, in a statement built once: every briefing reads this, and building the statement and
# loading ORM objects cost more than the query.
_BY_TASK = (
    sqlalchemy.select(
        col(ArtifactDB.id),
        col(ArtifactDB.task_id),
        col(ArtifactDB.name),
        col(ArtifactDB.path),
        col(ArtifactDB.category),
        col(ArtifactDB.validation_status),
    )
    .where(col(ArtifactDB.task_id).in_(bindparam("task_ids", expanding=True)))
    .order_by(col(ArtifactDB.id))
)


def by_task(session: Session, task_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each task's artifacts, briefly (id, name, path, category, validation status), in hand-in order."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    if not task_ids:
        return grouped
    for artifact in session.connection().execute(_BY_TASK, {"task_ids": task_ids}):
        grouped.setdefault(artifact.task_id, []).append(
            {
                "id": artifact.id,
                "name": artifact.name,
                "path": artifact.path,
                "category": artifact.category,
                "validation_status": artifact.validation_status,
            }
        )
    return grouped


def report(artifact: ArtifactDB) -> dict[str, Any]:
    """An artifact as an agent needs it after handing it in: valid or not, and why."""
    details = artifact.validation_report or {}
    return {
        "artifact_id": artifact.id,
        "name": artifact.name,
        "path": artifact.path,
        "category": artifact.category,
        "task_id": artifact.task_id,
        "validation_status": artifact.validation_status,
        "errors": details.get("errors", []),
        "failed_checks": [c["name"] for c in details.get("checks", []) if not c.get("ok")],
        "info": details.get("info", {}),
    }


def _check_task(session: Session, project_id: str, task_id: int | None) -> None:
    if task_id is None:
        return
    try:
        task = lookups.get_task(session=session, project_id=project_id, task_id=task_id)
    except NotFound:
        raise InvalidInput(
            f"Task {task_id} is not a task of project {project_id!r}.",
            errors=[{"loc": ["body", "task_id"], "msg": "no such task in this project", "type": "unknown_task"}],
        ) from None
    task_states.ensure_not_withdrawn(task)  # a file handed in for a dropped task would satisfy nothing


def create(*, session: Session, project_id: str, data: ArtifactCreate) -> ArtifactDB:
    """Register an artifact's metadata for the project (and optionally one of its tasks)."""
    lookups.get_project(session=session, project_id=project_id)
    _check_task(session, project_id, data.task_id)
    artifact = ArtifactDB(project_id=project_id, source="metadata", **data.model_dump())
    session.add(artifact)
    session.flush()
    outbox.record(
        session,
        project_id=project_id,
        type="artifact.created",
        data={"artifact_id": artifact.id, "task_id": artifact.task_id, "name": artifact.name},
        actor="user",
    )
    session.commit()
    log.info("artifact registered", project_id=project_id, artifact_id=artifact.id)
    return artifact


def list_(
    *,
    session: Session,
    project_id: str,
    limit: int,
    cursor: str | None = None,
    task_id: int | None = None,
    category: str | None = None,
    validation_status: str | None = None,
) -> Page[ArtifactDB]:
    """A page of the project's artifacts, in creation order, optionally filtered."""
    lookups.get_project(session=session, project_id=project_id)
    statement = select(ArtifactDB).where(ArtifactDB.project_id == project_id)
    if task_id is not None:
        statement = statement.where(ArtifactDB.task_id == task_id)
    if category is not None:
        statement = statement.where(ArtifactDB.category == category)
    if validation_status is not None:
        statement = statement.where(ArtifactDB.validation_status == validation_status)
    return page_by_id(session, statement, ArtifactDB.id, limit=limit, cursor=cursor)


def update(*, session: Session, project_id: str, artifact_id: int, data: ArtifactUpdate) -> ArtifactDB:
    """Change an artifact's name, content type or category."""
    artifact = get(session=session, project_id=project_id, artifact_id=artifact_id)
    changes = data.model_dump(exclude_unset=True)
    judged = sorted(f for f in ("category", "mime_type") if f in changes and changes[f] != getattr(artifact, f))
    if judged and artifact.sha256 is not None:
        # What a stored file is was established by its validation; relabelling it could satisfy a deliverable
        # with the wrong kind of file.
        raise Conflict(
            "The category and content type of a stored file come from its validation; hand it in again "
            "with the category it should have.",
            fields=judged,
        )
    for field, value in changes.items():
        setattr(artifact, field, value)
    if changes:
        session.add(artifact)
        outbox.record(
            session,
            project_id=project_id,
            type="artifact.updated",
            data={"artifact_id": artifact_id, "fields": sorted(changes)},
            actor="user",
        )
        session.commit()
        log.info("artifact updated", project_id=project_id, artifact_id=artifact_id, fields=sorted(changes))
    return artifact


def delete_(*, session: Session, project_id: str, artifact_id: int, store: BlobStore | None = None) -> None:
    """Delete an artifact; its stored file goes too when no other artifact shares the same bytes."""
    artifact = get(session=session, project_id=project_id, artifact_id=artifact_id)
    sha256 = artifact.sha256
    session.delete(artifact)
    outbox.record(
        session, project_id=project_id, type="artifact.deleted", data={"artifact_id": artifact_id}, actor="user"
    )
    session.commit()
    if store is not None and sha256 is not None:
        forget_blob(session, store, sha256)
    log.info("artifact deleted", project_id=project_id, artifact_id=artifact_id)


# --- Files: upload, workspace registration, validation, download ----------------------------------------
#
# Bytes land in the content-addressed BlobStore first (streamed, hashed, atomic; an interrupted transfer
# leaves nothing), then they are validated, then one transaction writes the row and its events. If that
# transaction fails, a blob no row references is removed again: no row without a file, no orphan file.


@dataclass(frozen=True)
class FileTarget:
    """Where a file goes: the project, optionally one of its tasks, its declared category and project path."""

    project_id: str
    task_id: int | None = None
    category: str | None = None
    path: str | None = None


def stored_bytes(session: Session, project_id: str) -> int:
    """The bytes of the project's stored files (each artifact counts its file, shared bytes included)."""
    total = session.exec(
        select(func.sum(ArtifactDB.size_bytes)).where(
            ArtifactDB.project_id == project_id, col(ArtifactDB.sha256).is_not(None)
        )
    ).one()
    return int(total or 0)


def _storage_full(project_id: str, used: int, quota: int, size: int | None = None) -> StorageFull:
    adding = f"{size} more bytes" if size is not None else "another file"
    return StorageFull(
        f"Project {project_id!r} stores {used} bytes of files; {adding} would pass its limit of {quota} bytes. "
        "Delete artifacts it no longer needs, or ask an administrator to raise GATEWAY_MAX_PROJECT_STORAGE_BYTES.",
        limit_bytes=quota,
        used_bytes=used,
        **({"size_bytes": size} if size is not None else {}),
    )


def room_left(session: Session, project_id: str, quota: int | None) -> int | None:
    """How many more bytes of files the project may store (None: no limit); refused when there is no room."""
    if quota is None:
        return None
    used = stored_bytes(session, project_id)
    if used >= quota:
        raise _storage_full(project_id, used, quota)
    return quota - used


def _check_room(session: Session, project_id: str, quota: int | None, size: int) -> None:
    if quota is not None and (used := stored_bytes(session, project_id)) + size > quota:
        raise _storage_full(project_id, used, quota, size)


def check_target(*, session: Session, target: FileTarget) -> None:
    """Refuse a file for an unknown project, another project's task or a path outside the project, up front."""
    if target.path is not None:
        try:
            if len(target.path) > MAX_PATH_CHARS:
                raise ValueError(f"at most {MAX_PATH_CHARS} characters")
            check_relative_path(target.path)
        except ValueError as exc:
            raise InvalidInput(
                f"Invalid path {target.path[:80]!r}: {exc}.",
                errors=[{"loc": ["body", "path"], "msg": str(exc), "type": "path_invalid"}],
            ) from None
    lookups.get_project(session=session, project_id=target.project_id)
    _check_task(session, target.project_id, target.task_id)


def _report_json(report: ValidationReport) -> dict[str, Any]:
    return report.model_dump(mode="json")


def _record_validation(session: Session, artifact: ArtifactDB, report: ValidationReport, actor: str) -> None:
    outbox.record(
        session,
        project_id=artifact.project_id,
        type="artifact.validated",
        data={
            "artifact_id": artifact.id,
            "task_id": artifact.task_id,
            "status": report.status,
            "errors": report.errors[:10],
        },
        actor=actor,
    )


def _insert(
    db: DatabaseManager,
    store: BlobStore,
    *,
    target: FileTarget,
    blob: Blob,
    name: str,
    report: ValidationReport,
    source: str,
    actor: str,
    quota: int | None,
) -> ArtifactDB:
    with db.get_session() as session:
        lookups.lock_project(session=session, project_id=target.project_id)
        _check_task(session, target.project_id, target.task_id)
        _check_room(session, target.project_id, quota, blob.size_bytes)  # under the lock: uploads take turns
        _lock_blob(session, blob.sha256)
        if not store.exists(blob.sha256):
            raise Conflict("The file was removed while it was being handed in; hand it in again.")
        artifact = ArtifactDB(
            project_id=target.project_id,
            task_id=target.task_id,
            name=name,
            path=(normalise_path(target.path) if target.path else None) or name,
            mime_type=report.mime_type,
            category=target.category or report.category,
            size_bytes=blob.size_bytes,
            sha256=blob.sha256,
            source=source,
            validation_status=report.status,
            validation_report=_report_json(report),
            validated_at=utc_now(),
        )
        session.add(artifact)
        session.flush()
        outbox.record(
            session,
            project_id=target.project_id,
            type="artifact.created",
            data={
                "artifact_id": artifact.id,
                "task_id": artifact.task_id,
                "name": name,
                "category": artifact.category,
                "sha256": blob.sha256,
                "size_bytes": blob.size_bytes,
                "source": source,
            },
            actor=actor,
        )
        _record_validation(session, artifact, report, actor)
        session.commit()
    log.info(
        "artifact stored",
        project_id=target.project_id,
        artifact_id=artifact.id,
        sha256=blob.sha256,
        validation=report.status,
    )
    return artifact


def _lock_blob(session: Session, sha256: str) -> None:
    """Serialise whatever adds or removes a reference to these bytes, so a file is never deleted under a new row.

    PostgreSQL: a transaction-scoped advisory lock on the digest. SQLite: every write transaction already holds
    the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(hashtextextended(:sha, 0))").bindparams(sha=sha256))  # type: ignore[call-overload]  # sqlmodel's exec() is typed for SELECT only; this is a textual statement


def _unreferenced(session: Session, sha256: str) -> bool:
    return session.exec(select(ArtifactDB.id).where(ArtifactDB.sha256 == sha256).limit(1)).first() is None


def forget_blob(session: Session, store: BlobStore, sha256: str) -> bool:
    """In a write transaction of its own: delete the blob when no artifact row points at it any more and no
    hand-in in flight holds it (that one will reference it, or forget it in turn)."""
    _lock_blob(session, sha256)
    removed = store.collect(sha256, partial(_unreferenced, session, sha256))
    session.commit()
    return removed


def forget_blob_if_unreferenced(db: DatabaseManager, store: BlobStore, sha256: str) -> None:
    """Delete a stored blob that no artifact row points at (after a failed write or a deletion)."""
    with db.get_session() as session:
        forget_blob(session, store, sha256)


def _engine_of(project: ProjectDB | None) -> str | None:
    brief = project.brief if project is not None and project.brief else {}
    engine = brief.get("engine") if isinstance(brief, dict) else None
    return engine if isinstance(engine, str) else None


def project_engine(db: DatabaseManager, project_id: str) -> str | None:
    """The engine the project's brief names ("Godot 4"): validation picks grammars by it. A short read of its own."""
    with db.read_session() as session:
        return _engine_of(session.get(ProjectDB, project_id))


def land(
    db: DatabaseManager,
    store: BlobStore,
    *,
    target: FileTarget,
    blob: Blob,
    name: str,
    source: str,
    limits: Limits = DEFAULT_LIMITS,
    actor: str = "user",
    quota: int | None = None,
) -> ArtifactDB:
    """Validate a stored blob and record it as an artifact, in one transaction (blocking: run it in a thread).

    The blob's pin is released once the row is committed, or before a failed hand-in forgets the bytes.
    """
    name = safe_filename(name)
    try:
        try:
            report = validate(
                blob.path,
                name=name,
                category=target.category,  # type: ignore[arg-type]  # checked by the target, or inferred when None
                limits=limits,
                sha256=blob.sha256,
                project_path=target.path,
                engine=project_engine(db, target.project_id),
            )
        except FileNotFoundError:
            raise Conflict("The file was removed while it was being handed in; hand it in again.") from None
        artifact = _insert(
            db, store, target=target, blob=blob, name=name, report=report, source=source, actor=actor, quota=quota
        )
    except BaseException:
        blob.release()
        forget_blob_if_unreferenced(db, store, blob.sha256)
        raise
    blob.release()
    return artifact


def _within_room(max_bytes: int, room: int | None) -> int:
    return max_bytes if room is None else min(max_bytes, room)


def _size_refused(exc: PayloadTooLarge, project_id: str, max_bytes: int, room: int | None, quota: int | None) -> None:
    """A file cut at the project's room left (not at the file limit) is the project's storage that is full."""
    if room is not None and quota is not None and room < max_bytes:
        raise _storage_full(project_id, quota - room, quota) from exc


async def upload(
    db: DatabaseManager,
    store: BlobStore,
    *,
    target: FileTarget,
    chunks: AsyncIterator[bytes],
    filename: Callable[[], str | None],
    max_bytes: int,
    limits: Limits = DEFAULT_LIMITS,
    actor: str = "user",
    quota: int | None = None,
) -> ArtifactDB:
    """Stream a file into the store, validate it and record it; `filename` is read once the bytes are in.

    With a `quota` (bytes of files per project), a project without room is refused before any byte is read,
    and a file that would not fit is cut as soon as it passes the room left.
    """

    def check() -> int | None:
        with db.read_session() as session:
            check_target(session=session, target=target)
            return room_left(session, target.project_id, quota)

    room = await anyio.to_thread.run_sync(check)
    try:
        blob = await store.ingest(chunks, max_bytes=_within_room(max_bytes, room))
    except PayloadTooLarge as exc:
        _size_refused(exc, target.project_id, max_bytes, room, quota)
        raise
    try:
        name = filename() or (target.path.rsplit("/", 1)[-1] if target.path else f"upload-{blob.sha256[:12]}")
        work = partial(
            land,
            db,
            store,
            target=target,
            blob=blob,
            name=name,
            source="upload",
            limits=limits,
            actor=actor,
            quota=quota,
        )
    except BaseException:
        blob.release()
        raise
    return await anyio.to_thread.run_sync(work)


def store_bytes(
    db: DatabaseManager,
    store: BlobStore,
    *,
    target: FileTarget,
    name: str,
    data: bytes,
    max_bytes: int,
    limits: Limits = DEFAULT_LIMITS,
    actor: str = "user",
    quota: int | None = None,
) -> ArtifactDB:
    """Record content handed in whole (an agent's text or base64), like an upload (blocking)."""
    with db.read_session() as session:
        check_target(session=session, target=target)
        room = room_left(session, target.project_id, quota)
        if room is not None and quota is not None and len(data) > room:
            raise _storage_full(target.project_id, quota - room, quota, len(data))
    blob = store.ingest_bytes(data, max_bytes=max_bytes)
    return land(
        db, store, target=target, blob=blob, name=name, source="upload", limits=limits, actor=actor, quota=quota
    )


def register_workspace_file(
    db: DatabaseManager,
    store: BlobStore,
    *,
    target: FileTarget,
    workspace: Path,
    max_bytes: int,
    limits: Limits = DEFAULT_LIMITS,
    actor: str = "user",
    quota: int | None = None,
) -> ArtifactDB:
    """Record a file that sits in the project's workspace; its bytes are copied in, so they never change."""
    assert target.path is not None
    with db.read_session() as session:
        check_target(session=session, target=target)
        room = room_left(session, target.project_id, quota)
    source = resolve_in_workspace(workspace, target.path)
    try:
        blob = store.ingest_file(source, max_bytes=_within_room(max_bytes, room), within=workspace)
    except PayloadTooLarge as exc:
        _size_refused(exc, target.project_id, max_bytes, room, quota)
        raise
    relative = source.relative_to(workspace.resolve()).as_posix()
    return land(
        db,
        store,
        target=FileTarget(target.project_id, target.task_id, target.category, relative),
        blob=blob,
        name=source.name,
        source="workspace",
        limits=limits,
        actor=actor,
        quota=quota,
    )


def revalidate(
    db: DatabaseManager,
    store: BlobStore,
    *,
    project_id: str,
    artifact_id: int,
    limits: Limits = DEFAULT_LIMITS,
    actor: str = "user",
) -> ArtifactDB:
    """Run validation again on a stored artifact (e.g. after the validators improved) and record the result."""
    with db.read_session() as session:
        artifact = get(session=session, project_id=project_id, artifact_id=artifact_id)
        engine = _engine_of(session.get(ProjectDB, project_id))
    if artifact.sha256 is None or not store.exists(artifact.sha256):
        raise Conflict(f"Artifact {artifact_id} has no stored content to validate.", artifact_id=artifact_id)
    report = validate(
        store.path_for(artifact.sha256),
        name=artifact.name,
        category=artifact.category,  # type: ignore[arg-type]  # the category column holds one of the four literals, checked on the way in
        limits=limits,
        sha256=artifact.sha256,
        project_path=artifact.path,
        engine=engine,
    )
    with db.get_session() as session:
        lookups.lock_project(session=session, project_id=project_id)
        artifact = get(session=session, project_id=project_id, artifact_id=artifact_id)
        artifact.validation_status = report.status
        artifact.validation_report = _report_json(report)
        artifact.validated_at = utc_now()
        session.add(artifact)
        _record_validation(session, artifact, report, actor)
        session.commit()
    return artifact


def content(*, session: Session, store: BlobStore, project_id: str, artifact_id: int) -> tuple[ArtifactDB, Path]:
    """An artifact and the file holding its bytes."""
    artifact = get(session=session, project_id=project_id, artifact_id=artifact_id)
    if artifact.sha256 is None or not store.exists(artifact.sha256):
        raise NotFound(f"Artifact {artifact_id} has no stored content.", resource="artifact content", id=artifact_id)
    return artifact, store.path_for(artifact.sha256)


# --- Garbage: what a crash or an interrupted hand-in leaves in the store ------------------------------------


@dataclass(frozen=True)
class Collected:
    """What a collection removed: temp files of interrupted writes, and blobs no artifact references."""

    temp_files: int
    blobs: int
    bytes_freed: int
    blobs_kept: int


def collect_garbage(
    db: DatabaseManager, store: BlobStore, *, temp_grace_seconds: float = TEMP_GRACE_SECONDS
) -> Collected:
    """Remove crash leftovers: temp files no live writer holds, and blobs no row references nor hand-in pins.

    Safe while the gateway serves (in this process or others sharing the store): each blob is locked first,
    then its references are read, so a hand-in in flight keeps its bytes (blocking: run it in a thread).
    """
    temp_files = store.sweep_temp(temp_grace_seconds)
    removed = freed = kept = 0
    for blob in store.iter_blobs():

        def unreferenced(sha256: str = blob.sha256) -> bool:
            with db.read_session() as session:  # a snapshot taken after the blob's lock
                return _unreferenced(session, sha256)

        if store.collect(blob.sha256, unreferenced):
            removed += 1
            freed += blob.size_bytes
        else:
            kept += 1
    if temp_files or removed:
        log.info("storage collected", temp_files=temp_files, blobs=removed, bytes_freed=freed, blobs_kept=kept)
    return Collected(temp_files=temp_files, blobs=removed, bytes_freed=freed, blobs_kept=kept)
