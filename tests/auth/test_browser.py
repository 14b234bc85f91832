"""A web page the developer happens to visit must not drive the gateway: Host, Origin, CSRF, CORS, the session."""

import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.websockets import WebSocketDisconnect

from gateway.app.db import EventDB, ProjectDB
from tests.auth.conftest import HERE, Cast, bearer

EVIL = "http://evil.example"
PROJECT = {"name": "Drive-by", "brief": {"genre": "puzzle", "engine": "phaser"}}


def _count(db, model) -> int:
    with db.read_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_a_foreign_host_is_refused_on_every_route_local_mode_included(client, db):
    for path in ("/health", "/api/v1/projects", "/docs", "/api/v1/session"):
        response = client.get(path, headers={"Host": "rebind.evil.example"})
        assert response.status_code == 421, path
        assert response.json()["type"] == "/problems/host-not-allowed"
    before = _count(db, ProjectDB)
    response = client.post("/api/v1/projects", json=PROJECT, headers={"Host": "rebind.evil.example:8000"})
    assert response.status_code == 421
    assert _count(db, ProjectDB) == before
    assert client.get("/health", headers={"Host": "localhost:8000"}).status_code == 200


def test_a_foreign_origin_cannot_change_anything_but_may_read(client, db):
    before = (_count(db, ProjectDB), _count(db, EventDB))
    refused = client.post("/api/v1/projects", json=PROJECT, headers={"Origin": EVIL})
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/origin-not-allowed"
    assert "access-control-allow-origin" not in refused.headers
    # A form post (the CSRF classic: no preflight) and a null origin (sandboxed frames) too.
    form = client.post("/api/v1/projects", data={"name": "x"}, headers={"Origin": "null"})
    assert form.status_code == 403
    assert (_count(db, ProjectDB), _count(db, EventDB)) == before
    # The gateway's own pages are same-origin; reads carry no Origin risk.
    assert client.post("/api/v1/projects", json=PROJECT, headers={"Origin": "http://127.0.0.1"}).status_code == 201
    assert client.get("/api/v1/projects", headers={"Origin": EVIL}).status_code == 200


def test_no_cors_is_granted_by_default(client):
    preflight = client.options(
        "/api/v1/projects",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
    read = client.get("/api/v1/projects", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in read.headers


def test_a_websocket_upgrade_from_a_foreign_origin_is_refused_before_the_handshake(client):
    client.post("/api/v1/projects", json={**PROJECT, "id": "p"})
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/api/v1/projects/p/events/ws", headers={"Origin": EVIL}),
    ):
        pass  # pragma: no cover - never accepted
    assert refused.value.code == 4403
    with client.websocket_connect("/api/v1/projects/p/events/ws", headers={"Origin": "http://127.0.0.1"}) as ws:
        assert ws.receive_json()["kind"] == "hello"


def test_a_websocket_with_a_foreign_host_is_refused(client):
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("ws://rebind.evil.example/api/v1/events/ws"),
    ):
        pass  # pragma: no cover - never accepted
    assert refused.value.code == 4403


def test_login_sets_httponly_strict_cookies_and_cookie_posts_need_the_csrf_token(secure_client, cast: Cast, db):
    bad = secure_client.post("/api/v1/session", json={"token": "gw_" + "x" * 43})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith("Bearer")
    assert "set-cookie" not in bad.headers

    login = secure_client.post("/api/v1/session", json={"token": cast.user_here})
    assert login.status_code == 200
    me = login.json()
    assert (me["kind"], me["name"], me["role"], me["auth_mode"]) == ("user", "ada", "user", "required")
    cookies = login.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("gateway_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("gateway_csrf="))
    assert {"HttpOnly", "SameSite=strict", "Path=/"} <= {part.strip() for part in session_cookie.split(";")}
    assert "HttpOnly" not in csrf_cookie
    assert "SameSite=strict" in csrf_cookie
    assert secure_client.cookies["gateway_csrf"] == me["csrf_token"]

    # The cookie authenticates reads ...
    assert secure_client.get(f"/api/v1/projects/{HERE}").status_code == 200
    assert secure_client.get("/api/v1/session").json()["name"] == "ada"
    # ... but a state-changing request without the CSRF header (a forged form post) is refused and writes nothing.
    before = _count(db, EventDB)
    forged = secure_client.patch(f"/api/v1/projects/{HERE}", json={"description": "pwned"})
    assert forged.status_code == 403
    assert forged.json()["permission"] == "csrf-token"
    wrong = secure_client.patch(
        f"/api/v1/projects/{HERE}", json={"description": "pwned"}, headers={"X-CSRF-Token": "guess"}
    )
    assert wrong.status_code == 403
    assert _count(db, EventDB) == before
    done = secure_client.patch(
        f"/api/v1/projects/{HERE}", json={"description": "mine"}, headers={"X-CSRF-Token": me["csrf_token"]}
    )
    assert done.status_code == 200

    # A bearer request needs no CSRF token; logging out clears the cookies.
    secure_client.cookies.clear()
    assert (
        secure_client.patch(
            f"/api/v1/projects/{HERE}", json={"description": "b"}, headers=bearer(cast.user_here)
        ).status_code
        == 200
    )
    csrf = secure_client.post("/api/v1/session", json={"token": cast.user_here}).json()["csrf_token"]
    assert secure_client.delete("/api/v1/session").status_code == 403  # a forged logout, too
    out = secure_client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert secure_client.get("/api/v1/session").status_code == 401


def test_the_session_in_local_mode_is_the_local_user(client):
    me = client.get("/api/v1/session").json()
    assert (me["kind"], me["name"], me["role"], me["auth_mode"], me["id"]) == ("user", "local", "admin", "local", None)
    assert me["csrf_token"]


def test_a_websocket_authenticates_with_the_session_cookie(secure_client, cast: Cast):
    secure_client.post("/api/v1/session", json={"token": cast.agent_here})
    with secure_client.websocket_connect(f"/api/v1/projects/{HERE}/events/ws") as ws:
        assert ws.receive_json()["kind"] == "hello"
