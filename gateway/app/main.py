"""The application factory: one FastAPI app with the REST API, health checks and documentation."""

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio.to_thread
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, FastAPI
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute

from gateway import __version__
from gateway.app.api import (
    artifacts,
    auth,
    catalogue,
    contexts,
    documentation,
    events,
    interchange,
    jobs,
    plans,
    projects,
    system,
    tasks,
)
from gateway.app.api.idempotency import IdempotencyMiddleware
from gateway.app.api.middleware import (
    AccessLogMiddleware,
    BodySizeLimitMiddleware,
    HeadAsGetMiddleware,
    JsonDepthLimitMiddleware,
)
from gateway.app.api.problems import install_problem_handlers
from gateway.app.auth.gate import Gate
from gateway.app.config import Settings, get_settings
from gateway.app.db import DatabaseManager
from gateway.app.logging import configure_logging, get_logger, valid_request_id
from gateway.app.mcp.server import build_server
from gateway.app.services import artifacts as artifacts_service
from gateway.app.services import event_streams
from gateway.app.storage import TEMP_GRACE_SECONDS, BlobStore
from gateway.app.web import routes as web
from gateway.app.worker import JobWorker

log = get_logger(__name__)

DESCRIPTION = """\
The backend of an AI-assisted game development workflow: projects, versioned plans of tasks agreed
between a developer and an AI, versioned context, and the artifacts AI coding agents hand in.

Every error is an [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem (`application/problem+json`)
whose `type` names the kind of error; `GET /problems` lists them. Send `X-Request-ID` to correlate a request
with the logs; the response always carries one.
"""

TAGS = [
    {"name": "projects", "description": "Game projects."},
    {"name": "plans", "description": "Versioned plans and the user-AI consensus: propose, revise, edit, accept."},
    {
        "name": "jobs",
        "description": "Slow AI work (LLM proposals and revisions, memory updates): follow, list, cancel.",
    },
    {"name": "tasks", "description": "A project's tasks, and the work on them: claims, leases, transitions."},
    {"name": "artifacts", "description": "Files handed in for a project or a task."},
    {
        "name": "contexts",
        "description": "Versioned context documents (global and per task): history, diff, restore, safe edits.",
    },
    {"name": "catalogue", "description": "Game templates and the MCP servers plans suggest (read-only)."},
    {"name": "system", "description": "Liveness, readiness and the problem types."},
    {"name": "events", "description": "What changed, in order: the event log, and live over WebSocket."},
    {
        "name": "identities",
        "description": "Log in (the web session), tokens, users and agents (administrators), project members.",
    },
]


def freeze_startup_objects() -> None:
    """Move what start-up allocated (modules, schemas, templates) out of the garbage collector's sight.

    Otherwise every full collection walks ~200k long-lived objects: 140-220 ms pauses every few dozen
    requests (bench_tasks showed them as the claim-next p99). Once per process: a process that builds
    several apps (the tests do) freezes the first one's start-up only, so later apps stay collectable
    instead of piling up in the permanent generation.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


async def collect_storage(db: DatabaseManager, store: BlobStore) -> None:
    """Collect the store's garbage in a worker thread; a failure is logged, never fatal to serving."""
    try:
        await anyio.to_thread.run_sync(partial(artifacts_service.collect_garbage, db, store))
    except Exception as exc:  # e.g. a database not migrated yet: the next round tries again
        log.warning("storage collection failed", error=repr(exc))


@asynccontextmanager
async def collecting_storage(db: DatabaseManager, store: BlobStore, interval_s: float | None) -> AsyncIterator[None]:
    """Collect the store's garbage now, then every `interval_s` seconds (if set) while the block runs."""

    async def forever(interval: float) -> None:
        # The first round comes once the grace of empty temp files a crash left just before start-up is over.
        await asyncio.sleep(min(interval, TEMP_GRACE_SECONDS + 1))
        while True:
            await collect_storage(db, store)
            await asyncio.sleep(interval)

    await collect_storage(db, store)
    collector = asyncio.create_task(forever(interval_s)) if interval_s else None
    try:
        yield
    finally:
        if collector is not None:
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector


@functools.cache
def _http_routes() -> tuple[BaseRoute, ...]:
    """The REST and system routes, built once per process.

    Building them (FastAPI's models for every parameter and response) is most of what create_app costs,
    and they hold nothing of one app: handlers reach its database, store and settings through
    `request.app.state`. (Built outside the app, they do not see `app.dependency_overrides`; nothing uses it.)
    """
    api = APIRouter(prefix="/api/v1")
    for module in (projects, plans, interchange, jobs, tasks, artifacts, contexts, events, catalogue, auth):
        api.include_router(module.router)
    routes = APIRouter()
    routes.include_router(api)
    routes.include_router(system.router)
    return tuple(routes.routes)


def create_app(settings: Settings | None = None, *, db: DatabaseManager | None = None) -> FastAPI:
    """Build the app; `db` lets a caller share a DatabaseManager (the app then leaves it open)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    owns_db = db is None
    database = db or DatabaseManager(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms, pool_size=settings.pool_size
    )
    hub = event_streams.hub_from_settings(db=database, settings=settings)
    store = BlobStore(settings.artifacts_dir)
    # Over HTTP every tool call acts as the principal the gate authenticated (no default principal).
    agents = build_server(db=database, store=store, settings=settings, principal=None)
    agents_app = agents.streamable_http_app(
        streamable_http_path="/mcp",
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=settings.mcp_allowed_hosts,
            allowed_origins=settings.mcp_allowed_origins,
        ),
    )
    # Captured now: each streamable_http_app() call makes a new (single-use) session manager.
    agent_sessions = agents.session_manager
    worker = JobWorker(database, settings) if settings.jobs_enabled else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Blocking work (sync endpoints, database calls, validation) runs on this many threads; the pool has a
        # connection for each of them (Settings.pool_size).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        # A mounted sub-app's lifespan never runs: the MCP session manager runs inside ours.
        # Leftovers of hand-ins a crash interrupted: now, then every storage_gc_interval_s (docs/architecture.md).
        async with (
            collecting_storage(database, store, settings.storage_gc_interval_s),
            event_streams.serving(hub, settings=settings),
            agent_sessions.run(),
        ):
            freeze_startup_objects()
            if worker is not None:
                async with worker.running():
                    yield
            else:
                yield
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="Gateway",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # Served by the web adapter with local assets: the CDN pages FastAPI defaults to are blank offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.store = store
    app.state.events = hub
    app.state.worker = worker
    install_problem_handlers(app)

    app.router.routes.extend(_http_routes())
    documentation.install(app)
    # The MCP endpoint lives at exactly /mcp (a Mount would answer at /mcp/mcp or redirect).
    app.router.routes.extend(agents_app.routes)

    web.install(app)

    # Starlette runs the middleware added last outermost: the request id must exist before anything logs.
    # Uploads stream into the blob store, which enforces the file limit itself; the multipart framing adds a little.
    upload_limit = settings.max_upload_bytes + 1024 * 1024
    app.add_middleware(HeadAsGetMiddleware)  # innermost: the gate and the log see HEAD, the routes a GET
    app.add_middleware(IdempotencyMiddleware, db=database)  # inside the size limit: it buffers keyed bodies
    app.add_middleware(JsonDepthLimitMiddleware, max_depth=settings.max_json_depth)  # inside it too: buffers JSON
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # An agent's inline artifact (up to 10 MB, base64: a third larger) travels inside one MCP message.
        overrides={"/artifacts/files": upload_limit, "/mcp": 16 * 1024 * 1024},
    )
    # Host, Origin, credentials, CSRF and the policy: before anything reads a body or writes a row.
    app.add_middleware(Gate, settings=settings, db=database, routes=lambda: app.routes)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID", validator=valid_request_id)
    return app
