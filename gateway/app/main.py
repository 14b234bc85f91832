"""The application factory: one FastAPI app with the REST API, health checks and documentation."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from gateway import __version__
from gateway.app.api import artifacts, contexts, events, projects, system, tasks
from gateway.app.api.middleware import AccessLogMiddleware, BodySizeLimitMiddleware, valid_request_id
from gateway.app.api.problems import install_problem_handlers
from gateway.app.config import Settings, get_settings
from gateway.app.db import DatabaseManager
from gateway.app.logging import configure_logging
from gateway.app.services import streams

DESCRIPTION = """\
The backend of an AI-assisted game development workflow: projects, versioned plans of tasks agreed
between a developer and an AI, versioned context, and the artifacts AI coding agents hand in.

Every error is an [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem (`application/problem+json`)
whose `type` names the kind of error; `GET /problems` lists them. Send `X-Request-ID` to correlate a request
with the logs; the response always carries one.
"""

TAGS = [
    {"name": "projects", "description": "Game projects."},
    {"name": "tasks", "description": "A project's tasks."},
    {"name": "artifacts", "description": "Files handed in for a project or a task."},
    {
        "name": "contexts",
        "description": "Versioned context documents (global and per task): history, diff, restore, safe edits.",
    },
    {"name": "system", "description": "Liveness, readiness and the problem types."},
    {"name": "events", "description": "What changed, in order: the event log, and live over WebSocket."},
]


def create_app(settings: Settings | None = None, *, db: DatabaseManager | None = None) -> FastAPI:
    """Build the app; `db` lets a caller share a DatabaseManager (the app then leaves it open)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    owns_db = db is None
    database = db or DatabaseManager(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    hub = streams.hub_from_settings(db=database, settings=settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with streams.serving(hub, settings=settings):
            yield
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="Gateway",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.events = hub
    install_problem_handlers(app)

    api = APIRouter(prefix="/api/v1")
    for module in (projects, tasks, artifacts, contexts, events):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(system.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    # Starlette runs the middleware added last outermost: the request id must exist before anything logs.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID", validator=valid_request_id)
    return app
