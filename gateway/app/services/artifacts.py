"""Artifact metadata of a project: register, read, list, update and delete."""

from sqlmodel import Session, select

from gateway.app import events
from gateway.app.db import ArtifactDB
from gateway.app.errors import InvalidInput, NotFound
from gateway.app.logging import get_logger
from gateway.app.schemas.artifacts import ArtifactCreate, ArtifactUpdate
from gateway.app.services import projects, tasks
from gateway.app.services.common import Page, page_by_id

log = get_logger(__name__)


def get(*, session: Session, project_id: str, artifact_id: int) -> ArtifactDB:
    """The project's artifact, or NotFound (also when it belongs to another project)."""
    artifact = session.get(ArtifactDB, artifact_id)
    if artifact is None or artifact.project_id != project_id:
        projects.get(session=session, project_id=project_id)
        raise NotFound(f"No artifact {artifact_id} in project {project_id!r}.", resource="artifact", id=artifact_id)
    return artifact


def _check_task(session: Session, project_id: str, task_id: int | None) -> None:
    if task_id is None:
        return
    try:
        tasks.get(session=session, project_id=project_id, task_id=task_id)
    except NotFound:
        raise InvalidInput(
            f"Task {task_id} is not a task of project {project_id!r}.",
            errors=[{"loc": ["body", "task_id"], "msg": "no such task in this project", "type": "unknown_task"}],
        ) from None


def create(*, session: Session, project_id: str, data: ArtifactCreate) -> ArtifactDB:
    """Register an artifact's metadata for the project (and optionally one of its tasks)."""
    projects.get(session=session, project_id=project_id)
    _check_task(session, project_id, data.task_id)
    artifact = ArtifactDB(project_id=project_id, source="metadata", **data.model_dump())
    session.add(artifact)
    session.flush()
    events.record(
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
    projects.get(session=session, project_id=project_id)
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
    for field, value in changes.items():
        setattr(artifact, field, value)
    if changes:
        session.add(artifact)
        events.record(
            session,
            project_id=project_id,
            type="artifact.updated",
            data={"artifact_id": artifact_id, "fields": sorted(changes)},
            actor="user",
        )
        session.commit()
        log.info("artifact updated", project_id=project_id, artifact_id=artifact_id, fields=sorted(changes))
    return artifact


def delete_(*, session: Session, project_id: str, artifact_id: int) -> None:
    """Remove an artifact's metadata."""
    artifact = get(session=session, project_id=project_id, artifact_id=artifact_id)
    session.delete(artifact)
    events.record(
        session, project_id=project_id, type="artifact.deleted", data={"artifact_id": artifact_id}, actor="user"
    )
    session.commit()
    log.info("artifact deleted", project_id=project_id, artifact_id=artifact_id)
