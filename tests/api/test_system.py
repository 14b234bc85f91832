"""/health, /ready, the problem catalogue and the error mapping."""

from pathlib import Path

import pytest

from gateway import __version__, migrations
from gateway.app.config import Settings
from gateway.app.main import create_app
from tests.conftest import LocalClient


@pytest.mark.sqlite_only
def test_health(client):
    assert client.get("/health").json() == {"status": "ok", "version": __version__}


def test_ready_when_the_schema_is_current(client, backend):
    body = client.get("/ready").json()
    assert body == {"status": "ready", "database": backend, "schema_revision": migrations.head()}


def test_not_ready_before_migrating(empty_database_url, tmp_path: Path):
    with LocalClient(create_app(Settings(database_url=empty_database_url))) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    problem = response.json()
    assert problem["type"] == "/problems/not-ready"
    assert "gateway migrate" in problem["detail"]
    assert problem["schema_head"] == migrations.head()


def test_not_ready_when_the_database_is_unreachable():
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with LocalClient(create_app(settings)) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        assert "unreachable" in response.json()["detail"]
        assert client.get("/health").status_code == 200


def test_an_unreachable_database_is_a_503_to_retry_at_every_door_never_a_500():
    """Behind the gate (a token to look up) and in an endpoint alike: the database is down, not the request wrong."""
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with LocalClient(create_app(settings), raise_server_exceptions=False) as client:
        for headers in ({}, {"Authorization": "Bearer gw_not_checked_without_a_database"}):
            response = client.get("/api/v1/projects", headers=headers)
            assert response.status_code == 503, (headers, response.text)
            assert response.json()["type"] == "/problems/not-ready"
            assert response.headers["Retry-After"] == "1"
        created = client.post("/api/v1/projects", json={"id": "p", "name": "P"})
        assert (created.status_code, created.json()["type"]) == (503, "/problems/not-ready")


@pytest.mark.sqlite_only
def test_every_problem_type_is_documented_and_resolvable(client):
    catalogue = client.get("/problems").json()
    slugs = {entry["type"] for entry in catalogue}
    assert {"/problems/not-found", "/problems/already-exists", "/problems/validation-error"} <= slugs
    for entry in catalogue:
        assert entry["description"]
        assert client.get(entry["type"]).json() == entry
    assert client.get("/problems/nope").status_code == 404


@pytest.mark.sqlite_only
def test_unknown_routes_and_methods_are_problems(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "/problems/route-not-found"
    wrong_method = client.put("/api/v1/projects")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "/problems/method-not-allowed"
    assert "allow" in wrong_method.headers


@pytest.mark.sqlite_only
def test_unexpected_errors_are_500_problems_with_the_request_id(settings, db):
    app = create_app(settings, db=db)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with LocalClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 500
    problem = response.json()
    assert problem["type"] == "/problems/internal-error"
    assert problem["request_id"] == "trace-me"
    assert "secret" not in response.text


@pytest.mark.sqlite_only
@pytest.mark.parametrize("path", ["/api/v1/projects/p", "/api/v1/projects/p/tasks/1", "/api/v1/projects/p/artifacts/1"])
def test_not_found_problems_name_the_resource(client, path):
    problem = client.get(path).json()
    assert problem["status"] == 404
    assert problem["type"] == "/problems/not-found"
    assert problem["instance"] == path
    assert problem["resource"] == "project"


@pytest.mark.sqlite_only
def test_allow_names_every_method_of_the_path_and_options_answers_with_it(client):
    # Starlette's 405 named the methods of the first route that matched the path only (RFC 9110: all of them).
    wrong_method = client.put("/api/v1/projects")
    assert wrong_method.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    item = client.put("/api/v1/projects/p/tasks/1")
    assert item.status_code == 405
    assert item.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    options = client.options("/api/v1/projects/p/context")
    assert (options.status_code, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS, PATCH, PUT")
    assert client.options("/api/v1/nothing-here").status_code == 404


@pytest.mark.sqlite_only
def test_head_answers_what_get_would_without_the_body(client):
    """Every Allow names HEAD beside GET; HEAD itself was a 405 (RFC 9110: a server MUST support it)."""
    client.post("/api/v1/projects", json={"id": "p", "name": "P"}).raise_for_status()
    for path in ("/api/v1/projects", "/api/v1/projects/p", "/health", "/api/v1/projects/p/context"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["content-length"] == str(len(get.content))
    missing = client.head("/api/v1/projects/nobody")
    assert (missing.status_code, missing.content) == (404, b"")
    assert client.head("/api/v1/projects/p/tasks/1/claim").status_code == 405


@pytest.mark.sqlite_only
def test_a_word_where_an_id_goes_is_no_resource(client):
    # PATCH …/artifacts/files is not PATCH …/artifacts/{artifact_id} with a bad id (a 422): /files answers POST only.
    files = client.patch("/api/v1/projects/p/artifacts/files", json={})
    assert (files.status_code, files.headers["allow"]) == (405, "OPTIONS, POST")
    assert files.headers["content-type"] == "application/problem+json"
    missing = client.get("/api/v1/projects/p/artifacts/cover-art")
    assert (missing.status_code, missing.json()["type"]) == (404, "/problems/route-not-found")


def test_apps_started_one_after_another_do_not_pile_up_in_the_permanent_generation(settings, db):
    """The first app's start-up is frozen out of the collector's sight; later apps (tests build many) stay collectable."""
    import gc

    with LocalClient(create_app(settings, db=db)) as client:
        assert client.get("/health").status_code == 200
    frozen = gc.get_freeze_count()
    assert frozen > 0
    for _ in range(2):
        with LocalClient(create_app(settings, db=db)) as client:
            assert client.get("/health").status_code == 200
    assert gc.get_freeze_count() == frozen


def test_apps_built_in_one_process_answer_each_from_their_own_database(tmp_path: Path, sqlite_template):
    """The routes are built once per process; each app still reads its own database and settings."""
    import shutil

    clients = []
    for name in ("first", "second"):
        path = tmp_path / f"{name}.db"
        shutil.copyfile(sqlite_template, path)
        settings = Settings(database_url=f"sqlite:///{path}", data_dir=tmp_path / name)
        clients.append(LocalClient(create_app(settings)))
    with clients[0] as first, clients[1] as second:
        assert first.post("/api/v1/projects", json={"id": "only-here", "name": "Only here"}).status_code == 201
        assert first.get("/api/v1/projects/only-here").status_code == 200
        assert second.get("/api/v1/projects/only-here").status_code == 404


@pytest.mark.sqlite_only
def test_a_foreign_preflight_gets_allow_but_no_cors(client):
    """OPTIONS answers Allow (RFC 9110), and nothing that would let another origin's page read or send."""
    preflight = client.options(
        "/api/v1/projects",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert (preflight.status_code, preflight.headers["allow"]) == (204, "GET, HEAD, OPTIONS, POST")
    assert not [name for name in preflight.headers if name.lower().startswith("access-control-")]


def test_the_upload_limit_cannot_pass_what_the_size_column_holds():
    """artifacts.size_bytes is a 32-bit INTEGER on PostgreSQL: a larger limit would fail at the insert."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="max_upload_bytes"):
        Settings(max_upload_bytes=2**31)
    assert Settings(max_upload_bytes=2**31 - 1).max_upload_bytes == 2**31 - 1
