"""Liveness, readiness and the catalogue of problem types."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from gateway import __version__
from gateway.app.api.deps import DbDep
from gateway.app.api.problems import problems
from gateway.app.api.routing import DocumentedRoute
from gateway.app.errors import NotFound, problem_catalogue
from gateway.app.services import system

router = APIRouter(tags=["system"], route_class=DocumentedRoute)


class Health(BaseModel):
    """The process is up."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0"}]})

    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    """The process can serve: its database answers and has the current schema."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "database": "sqlite", "schema_revision": "001"}]}
    )

    status: Literal["ready"]
    database: str
    schema_revision: str


class ProblemType(BaseModel):
    """One kind of error the API answers with."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/not-found",
                    "status": 404,
                    "title": "Resource not found",
                    "description": "No resource with that id (in that project).",
                }
            ]
        }
    )

    type: str
    status: int
    title: str
    description: str


def _problem_types() -> list[ProblemType]:
    return [ProblemType(type=f"/problems/{slug}", **entry) for slug, entry in problem_catalogue().items()]


@router.get("/health", response_model=Health)
def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok", version=__version__)


@router.get("/ready", response_model=Readiness, responses=problems(503))
def ready(db: DbDep) -> Readiness:
    """Readiness: the database is reachable and its schema is current."""
    return Readiness(**system.readiness(db=db))


@router.get("/problems", response_model=list[ProblemType])
def list_problem_types() -> list[ProblemType]:
    """List every problem type the API answers with."""
    return _problem_types()


@router.get("/problems/{slug}", response_model=ProblemType, responses=problems(404))
def get_problem_type(slug: Annotated[str, Path(max_length=64)]) -> ProblemType:
    """Describe one problem type (the `type` of a problem response resolves here)."""
    for problem_type in _problem_types():
        if problem_type.type == f"/problems/{slug}":
            return problem_type
    raise NotFound(f"No problem type {slug!r}.", resource="problem type", id=slug)
