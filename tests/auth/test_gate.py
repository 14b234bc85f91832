"""The gate's answers: one 401 for every bad token (logged), agent identity from the token, claims kept by
their holder, audit that names the principal, WebSocket limits, local mode for this machine only."""

import json
from datetime import timedelta

import pytest
from starlette.websockets import WebSocketDisconnect

from gateway.app.auth import tokens
from gateway.app.db import ApiTokenDB, utc_now
from tests.auth.conftest import HERE, Cast, bearer, issue
from tests.conftest import LocalClient


def _lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def _comparable(response) -> tuple:
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    return response.status_code, response.headers["www-authenticate"], body


def test_a_bad_token_gets_the_same_answer_whatever_the_reason_and_is_logged(secure_client, db, capfd):
    with db.get_session() as session:
        revoked = tokens.issue(session=session, kind="user", name="ada")
    with db.get_session() as session:
        tokens.revoke(session=session, token_id=revoked.token["id"])
    with db.get_session() as session:
        expired = tokens.issue(session=session, kind="user", name="eve")
    with db.get_session() as session:
        row = session.get(ApiTokenDB, expired.token["id"])
        row.expires_at = utc_now() - timedelta(minutes=1)
        session.add(row)
        session.commit()
    answers = {
        reason: _comparable(secure_client.get("/api/v1/projects", headers=bearer(secret)))
        for reason, secret in {
            "unknown": "gw_" + "Q" * 43,
            "revoked": revoked.secret,
            "expired": expired.secret,
            "malformed": "hunter2",
        }.items()
    }
    assert len(set(map(json.dumps, answers.values()))) == 1, answers
    status, challenge, body = answers["unknown"]
    assert status == 401
    assert challenge == 'Bearer realm="gateway", error="invalid_token"'
    assert body["type"] == "/problems/unauthorized"
    failures = [line for line in _lines(capfd.readouterr().err) if line["event"] == "authentication failed"]
    assert sorted(line["reason"] for line in failures) == ["expired", "malformed", "revoked", "unknown"]
    assert not any(revoked.secret in json.dumps(line) or expired.secret in json.dumps(line) for line in failures)
    missing = secure_client.get("/api/v1/projects")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="gateway"'


def test_the_agent_is_who_its_token_says(secure_client, cast: Cast, db):
    claimed = secure_client.post(f"/api/v1/projects/{HERE}/tasks/next/claim", headers=bearer(cast.agent_here))
    assert claimed.status_code == 200
    task = claimed.json()
    assert task["claimed_by"] == "agent-here"
    posing = secure_client.post(
        f"/api/v1/projects/{HERE}/tasks/next/claim", json={"agent_id": "agent-other"}, headers=bearer(cast.agent_here)
    )
    assert posing.status_code == 403
    assert posing.json()["permission"] == "act-as-agent"
    user_posing = secure_client.post(
        f"/api/v1/projects/{HERE}/tasks/next/claim", json={"agent_id": "agent-here"}, headers=bearer(cast.user_here)
    )
    assert user_posing.status_code == 403
    # The events name the principal and its token's id, never the token.
    page = secure_client.get(f"/api/v1/projects/{HERE}/events?limit=200", headers=bearer(cast.admin)).json()
    event = next(e for e in page["items"] if e["type"] == "task.claimed")
    with db.read_session() as session:
        principal, _ = tokens.authenticate(session, cast.agent_here)
    assert (event["principal"], event["token_id"], event["actor"]) == (
        "agent:agent-here",
        principal.token_id,
        "agent:agent-here",
    )
    assert cast.agent_here not in json.dumps(page)


@pytest.mark.parametrize("with_agent_id", [True, False])
def test_a_claim_is_worked_only_by_its_holder(secure_client, cast: Cast, db, with_agent_id):
    other = issue(db, "agent", "agent-two", projects=[HERE])
    task = secure_client.post(f"/api/v1/projects/{HERE}/tasks/next/claim", headers=bearer(cast.agent_here)).json()
    base = f"/api/v1/projects/{HERE}/tasks/{task['id']}"
    extra = {"agent_id": "agent-two"} if with_agent_id else {}

    def refused(action: str, body: dict, token: str) -> None:
        response = secure_client.post(f"{base}/{action}", json=body, headers=bearer(token))
        assert response.status_code == 409, (action, response.text)
        assert response.json()["claimed_by"] == "agent-here"

    for action, body in (("start", {}), ("release", {}), ("block", {"reason": "x"})):
        refused(action, {**body, **extra}, other)
    refused("start", {}, cast.user_here)  # a person without an agent name: refused too
    started = secure_client.post(f"{base}/start", json={}, headers=bearer(cast.agent_here))
    assert started.json()["status"] == "in_progress"
    refused("complete", {"summary": "mine now", **extra}, other)
    refused("complete", {"summary": "stolen"}, cast.user_here)  # the request of issue 12, without agent_id
    assert secure_client.get(base, headers=bearer(cast.admin)).json()["status"] == "in_progress"


def test_local_mode_is_for_this_machine_and_for_agents_without_tokens(client, app, db):
    assert client.post("/api/v1/projects", json={"id": "p", "name": "P"}).status_code == 201
    assert client.get("/api/v1/session").json()["name"] == "local"
    remote = LocalClient(app, client=("192.0.2.7", 40000))  # the same app, asked from another machine
    assert remote.get("/api/v1/projects").status_code == 401
    issue(db, "agent", "claude-1", projects=["p"])
    client.post("/api/v1/projects/p/plans")
    client.post("/api/v1/projects/p/plans/1/accept")
    # An agent that holds tokens cannot be impersonated by naming it; an unregistered name still works.
    assert client.post("/api/v1/projects/p/tasks/next/claim", json={"agent_id": "claude-1"}).status_code == 401
    assert client.post("/api/v1/projects/p/tasks/next/claim", json={"agent_id": "scratch"}).status_code == 200


def test_websockets_per_token_are_capped(settings, db, cast: Cast):
    from gateway.app.main import create_app

    app = create_app(settings.model_copy(update={"auth": "required", "ws_max_per_token": 2}), db=db)
    url = f"/api/v1/projects/{HERE}/events/ws?token={cast.agent_here}"
    with LocalClient(app) as client, client.websocket_connect(url) as one, client.websocket_connect(url) as two:
        assert one.receive_json()["kind"] == two.receive_json()["kind"] == "hello"
        with client.websocket_connect(url) as three, pytest.raises(WebSocketDisconnect) as closed:
            three.receive_json()
        assert closed.value.code == 4429
        # Another token has its own allowance.
        with client.websocket_connect(f"/api/v1/projects/{HERE}/events/ws?token={cast.user_here}") as four:
            assert four.receive_json()["kind"] == "hello"


def test_agents_write_context_as_ai_and_keys_are_per_principal(secure_client, cast: Cast):
    current = secure_client.get(f"/api/v1/projects/{HERE}/context", headers=bearer(cast.agent_here))
    patched = secure_client.patch(
        f"/api/v1/projects/{HERE}/context",
        json={"constraints": ["no online features"]},
        headers={**bearer(cast.agent_here), "If-Match": current.headers["etag"]},
    )
    assert patched.status_code == 200
    assert (patched.json()["source"], patched.json()["created_by"]) == ("ai-generate", "ai")
    # The same Idempotency-Key from two principals: two requests, neither replays the other's answer.
    key = {"Idempotency-Key": "same-key"}
    first = secure_client.post("/api/v1/projects", json={"name": "One"}, headers={**bearer(cast.user_here), **key})
    second = secure_client.post("/api/v1/projects", json={"name": "One"}, headers={**bearer(cast.user_there), **key})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "idempotent-replayed" not in second.headers
    # Each creator is a member of what they made, and sees only their projects.
    mine = secure_client.get("/api/v1/projects", headers=bearer(cast.user_there)).json()["items"]
    assert {p["id"] for p in mine} == {"there", second.json()["id"]}
    scoped = secure_client.get("/api/v1/projects", headers=bearer(cast.agent_here)).json()["items"]
    assert [p["id"] for p in scoped] == [HERE]
