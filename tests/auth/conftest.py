"""Fixtures for identities: an app in required mode, two projects, and one token of each kind of principal."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.app.auth import tokens
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.main import create_app
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import plans, projects
from tests.conftest import LocalClient

BRIEF = {"title": "Crate Logic", "genre": "puzzle", "engine": "phaser", "platforms": ["web"], "features": []}
HERE, THERE = "here", "there"  # "this project" and "another project"


@dataclass(frozen=True)
class Cast:
    """One token per kind of principal (None: anonymous)."""

    anonymous: None
    agent_here: str
    agent_there: str
    user_here: str
    user_there: str
    admin: str

    def items(self) -> list[tuple[str, str | None]]:
        return [(name, getattr(self, name)) for name in Cast.__dataclass_fields__]


def make_project(db: DatabaseManager, project_id: str, *, accept: bool = True) -> None:
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id=project_id, name=project_id.title(), brief=BRIEF))
        plans.propose(session=session, project_id=project_id)
        if accept:
            plans.accept(session=session, project_id=project_id, version=1)


def issue(db: DatabaseManager, kind: str, name: str, *, projects: list[str] | None = None, admin: bool = False) -> str:
    with db.get_session() as session:
        return tokens.issue(session=session, kind=kind, name=name, projects=projects, admin=admin).secret


@pytest.fixture
def required_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth": "required"})


@pytest.fixture
def secure_app(required_settings: Settings, db: DatabaseManager):
    return create_app(required_settings, db=db)


@pytest.fixture
def secure_client(secure_app) -> Iterator[LocalClient]:
    with LocalClient(secure_app) as client:
        yield client


@pytest.fixture
def cast(db: DatabaseManager) -> Cast:
    make_project(db, HERE)
    make_project(db, THERE)
    return Cast(
        anonymous=None,
        agent_here=issue(db, "agent", "agent-here", projects=[HERE]),
        agent_there=issue(db, "agent", "agent-there", projects=[THERE]),
        user_here=issue(db, "user", "ada", projects=[HERE]),
        user_there=issue(db, "user", "bob", projects=[THERE]),
        admin=issue(db, "user", "root", admin=True),
    )


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
