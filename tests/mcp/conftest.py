"""What the MCP tests share: asyncio for the SDK's client, the gateway's server in process, a project with an
accepted plan."""

import pytest

from gateway.app.mcp.server import build_server
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import plans, projects

BRIEF = {"title": "Crate Logic", "genre": "puzzle", "engine": "phaser", "platforms": ["web"], "features": []}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server(db, app):
    return build_server(db=db, store=app.state.store, settings=app.state.settings)


@pytest.fixture
def project(db) -> str:
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="crates", name="Crate Logic", brief=BRIEF))
        plans.propose(session=session, project_id="crates")
        plans.accept(session=session, project_id="crates", version=1)
    return "crates"
