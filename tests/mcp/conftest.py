"""What the MCP tests share: asyncio for the SDK's client, and the gateway's server in process."""

import pytest

from gateway.app.mcp.server import build_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server(db, app):
    return build_server(db=db, store=app.state.store, settings=app.state.settings)
