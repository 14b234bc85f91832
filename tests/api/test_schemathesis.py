"""Schemathesis against the app, in-process: no 5xx, and every answer is one the OpenAPI document describes.

Every schemathesis check runs (status codes, content types, response schemas, schema-valid requests accepted and
invalid ones refused, 405 with Allow…). One app and one SQLite database for the module, with a project that has an
accepted plan (tasks 1…) and an open proposal, re-made if an operation deleted it, and a fresh administrator per
operation; path parameters are generated or name those, so operations get past the 404s. A few examples per
operation, derandomized: the same requests every run (about a minute for the 80 operations).
"""

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.python.asgi import _get_portal

from gateway.app.auth import tokens
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager, ProjectDB
from gateway.app.main import create_app
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import plans, projects

PROJECT = "star-courier"
BRIEF = {"title": "Star Courier", "genre": "platformer", "engine": "godot", "platforms": ["pc"], "features": []}
OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"
HOST = "testserver"  # the Host schemathesis's in-process client sends


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("schemathesis")
    settings_ = Settings(
        database_url=f"sqlite:///{root / 'gateway.db'}",
        data_dir=root / "data",
        auth="required",
        allowed_hosts=[HOST],
        jobs_enabled=False,
        log_level="ERROR",
    )
    db = DatabaseManager(settings_.database_url)
    db.init_db()
    app = create_app(settings_, db=db)
    # On the event loop schemathesis sends its requests from (one for all apps; no public accessor).
    with _get_portal().wrap_async_context_manager(app.router.lifespan_context(app)):
        CURRENT.app = app
        yield db
        CURRENT.app = None
    db.dispose()


def _seed(db: DatabaseManager) -> None:
    """The project the path parameters name: an accepted plan (tasks 1…) and an open proposal."""
    with db.get_session() as session:
        if session.get(ProjectDB, PROJECT) is not None:
            return
        projects.create(session=session, data=ProjectCreate(id=PROJECT, name="Star Courier", brief=BRIEF))
        plans.propose(session=session, project_id=PROJECT)
        plans.accept(session=session, project_id=PROJECT, version=1)
        plans.propose(session=session, project_id=PROJECT)


ADMINS = itertools.count(1)


@pytest.fixture
def admin(seeded: DatabaseManager) -> str:
    """A fresh administrator for each operation: an earlier one may have revoked its token or deleted the project."""
    _seed(seeded)
    with seeded.get_session() as session:
        name = f"root-{next(ADMINS)}"
        return tokens.issue(session=session, kind="user", name=name, admin=True).secret


class CurrentApp:
    """The ASGI app schemathesis calls: the module's seeded app (made by a fixture, after import).

    Schemathesis starts and stops an app's lifespan around every test, but the gateway's lifespan runs once per
    app (the MCP session manager cannot restart): the fixture runs it for the module, and this wrapper
    acknowledges schemathesis's starts and stops without passing them on.
    """

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return


CURRENT = CurrentApp()
# Refusals of schema-valid requests that depend on state or configuration, not on the request's shape (what
# schemathesis's documentation says to allow per operation): a precondition on the version (412/428), a rule
# across the stored data (an import's files, an archive's rows, a patch whose merged result must keep the
# context's shape, a position beyond the newest event, an LLM planner when none is configured: 422), a task
# another agent works on or a withdrawn one (410).
STATE_DEPENDENT = [
    ("/context", ["412", "428", "422"]),
    ("/plans/imports$|/archives$|/plans$|/revisions$|/edits$", ["422"]),
    ("/events$", ["422"]),
    ("/tasks/", ["410"]),
    ("/artifacts$|/artifacts/workspace$", ["422"]),  # a task_id that names no task of the project
    ("/content$", ["416"]),  # a Range past the end of this file
]
# Schemathesis's coverage phase (every boundary and every mutation of every property, unbounded by max_examples)
# takes 7-20 s on each of these large bodies (a whole plan, a brief, a context); they get the examples and the
# generated cases only. Every other operation gets all phases.
LARGE_BODIES = ["/revisions$", "/edits$", "^/api/v1/projects$", "/context$"]
CONFIG = schemathesis.Config.from_dict(
    {
        # A body past the size limit is refused as too large, whatever else is wrong with it.
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                ]
            }
        },
        "operations": [
            {
                "include-path-regex": regex,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", *more]}
                },
            }
            for regex, more in STATE_DEPENDENT
        ]
        + [{"include-path-regex": regex, "phases": {"coverage": {"enabled": False}}} for regex in LARGE_BODIES],
    }
)
# The committed document (test_openapi keeps it equal to the app's): what clients read is what is probed.
# (schemathesis.pytest.from_fixture would load it from the app, but its lazy mode fails on pytest 9.)
schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text(encoding="utf-8")), config=CONFIG)
schema.app = CURRENT
KNOWN = {"project_id": PROJECT, "version": 1, "task_id": 1, "artifact_id": 1, "job_id": 1}


@schema.hook
def flatmap_path_parameters(_context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Half the cases name the seeded project, plan, task…: they get past the 404s."""
    if not path_parameters:
        return st.just(path_parameters)
    seeded_values = {name: KNOWN[name] for name in path_parameters if name in KNOWN}
    if not seeded_values:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **seeded_values}])


@schema.parametrize()
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_app_answers_as_documented(case: Case, admin: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin}"},
    )
