"""Many concurrent writers on one process: every request answers, none with a 5xx (issue 11).

A small thread pool and a short busy timeout make the standstill the probe found quick to reach: a request whose
session stays open after its endpoint (reads after a commit, or a repeated accept that needed no commit) held a
connection or SQLite's write lock while its response waited for a worker thread, and the threads all waited for
that lock. bench/bench_racing_writers.py runs the full mix with 50 clients.
"""

import threading
from collections import Counter

import httpx2
import pytest

from gateway.app.config import Settings
from gateway.app.main import create_app
from tests.conftest import LiveServer

API = "/api/v1"
BRIEF = {"genre": "platformer", "engine": "godot"}
CLIENTS = 12
ROUNDS = 3


@pytest.fixture
def small_pool_app(database_url, tmp_path, db):
    settings = Settings(
        database_url=database_url, data_dir=tmp_path / "data", worker_threads=4, sqlite_busy_timeout_ms=3000
    )
    return create_app(settings, db=db)


def test_concurrent_writers_with_few_threads_never_get_a_5xx(small_pool_app, backend):
    with LiveServer(small_pool_app) as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        http.post(f"{API}/projects", json={"id": "p", "name": "P", "brief": BRIEF}).raise_for_status()
        http.post(f"{API}/projects/p/plans", json={}).raise_for_status()
        http.post(f"{API}/projects/p/plans/1/accept").raise_for_status()
        statuses: Counter[int] = Counter()
        lock = threading.Lock()

        def client(n: int) -> None:
            with httpx2.Client(base_url=server.url, timeout=60) as mine:
                for _ in range(ROUNDS):
                    answers = [
                        mine.post(f"{API}/projects/p/plans/1/accept"),  # already accepted: no commit needed
                        mine.post(f"{API}/projects/p/tasks/next/claim", json={"agent_id": f"a{n}"}),
                        mine.get(f"{API}/projects/p/context"),
                        mine.patch(f"{API}/projects/p", json={"description": f"by {n}"}),
                        mine.post(f"{API}/projects/p/tasks", json={"title": f"loose {n}"}),
                    ]
                    with lock:
                        statuses.update(answer.status_code for answer in answers)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(statuses.values()) == CLIENTS * ROUNDS * 5
    assert not [status for status in statuses if status >= 500], statuses


def test_every_route_with_a_session_closes_it_with_its_endpoint(app):
    """The guarantee above lives in the route class: a router made without it would bring the standstill back."""
    from fastapi.routing import APIRoute

    from gateway.app.api import deps
    from gateway.app.api.routing import DocumentedRoute

    def uses_a_session(dependant) -> bool:
        return any(
            sub.call in (deps._session, deps._read_session) or uses_a_session(sub) for sub in dependant.dependencies
        )

    def walk(routes):  # FastAPI keeps included routers as such: their routes are the originals
        for route in routes:
            inner = getattr(route, "original_router", None)
            yield from walk(inner.routes) if inner is not None else [route]

    routes = [route for route in walk(app.routes) if isinstance(route, APIRoute) and uses_a_session(route.dependant)]
    assert len(routes) > 40
    assert [route.path for route in routes if not isinstance(route, DocumentedRoute)] == []


@pytest.mark.sqlite_only
def test_a_write_that_waits_past_the_busy_timeout_is_a_503_and_changes_nothing(database_url, tmp_path, db):
    import sqlite3

    from sqlalchemy.engine import make_url

    from tests.conftest import LocalClient

    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", sqlite_busy_timeout_ms=100)
    app = create_app(settings)  # its own engine, with the short busy timeout
    other = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    with LocalClient(app) as client:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            busy = client.post(f"{API}/projects", json={"id": "p", "name": "P"})
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert busy.status_code == 503
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["type"] == "/problems/busy"
        assert busy.headers["retry-after"] == "1"
        assert client.get(f"{API}/projects/p").status_code == 404
        assert client.post(f"{API}/projects", json={"id": "p", "name": "P"}).status_code == 201
