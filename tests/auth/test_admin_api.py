"""Administrators manage tokens, users and agents over the API; members manage a project's members."""

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.auth.conftest import HERE, Cast, bearer


def test_an_administrator_issues_lists_and_revokes_tokens(secure_client, cast: Cast):
    admin = bearer(cast.admin)
    issued = secure_client.post(
        "/api/v1/admin/tokens",
        json={"kind": "agent", "name": "codex-1", "projects": [HERE], "expires_in_days": 7, "label": "ci"},
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    secret = body["token"]
    assert (body["role"], body["projects"], body["state"], body["created_by"]) == (
        "agent",
        [HERE],
        "active",
        "user:root",
    )
    assert body["expires_at"] is not None
    # The new token works at once, for its project only.
    assert secure_client.get(f"/api/v1/projects/{HERE}", headers=bearer(secret)).status_code == 200
    assert secure_client.get("/api/v1/projects/there", headers=bearer(secret)).status_code == 403
    listed = secure_client.get("/api/v1/admin/tokens", headers=admin).json()
    assert secret not in str(listed)
    assert {t["name"] for t in listed} >= {"codex-1", "ada", "bob", "root"}
    revoked = secure_client.delete(f"/api/v1/admin/tokens/{body['id']}", headers=admin)
    assert revoked.json()["state"] == "revoked"
    assert secure_client.get(f"/api/v1/projects/{HERE}", headers=bearer(secret)).status_code == 401
    everything = secure_client.get("/api/v1/admin/tokens?include_inactive=true", headers=admin).json()
    assert any(t["id"] == body["id"] and t["state"] == "revoked" for t in everything)
    assert secure_client.delete("/api/v1/admin/tokens/999999", headers=admin).status_code == 404
    bad = secure_client.post(
        "/api/v1/admin/tokens", json={"kind": "agent", "name": "x", "projects": ["nope"]}, headers=admin
    )
    assert bad.status_code == 404


def test_disabling_a_user_revokes_every_token_of_it(secure_client, cast: Cast):
    admin = bearer(cast.admin)
    principals = secure_client.get("/api/v1/admin/principals", headers=admin).json()
    ada = next(p for p in principals if p["name"] == "ada")
    assert (ada["kind"], ada["projects"], ada["active_tokens"], ada["disabled"]) == ("user", [HERE], 1, False)
    assert secure_client.delete("/api/v1/admin/principals/user/ada", headers=admin).status_code == 204
    assert secure_client.get(f"/api/v1/projects/{HERE}", headers=bearer(cast.user_here)).status_code == 401
    assert secure_client.delete("/api/v1/admin/principals/user/nobody", headers=admin).status_code == 404


def test_members_of_a_project_manage_its_members(secure_client, cast: Cast):
    ada = bearer(cast.user_here)
    assert secure_client.get(f"/api/v1/projects/{HERE}/members", headers=ada).json()["members"] == ["ada"]
    # bob (a user of another project) cannot see it, until ada adds him.
    assert secure_client.get(f"/api/v1/projects/{HERE}", headers=bearer(cast.user_there)).status_code == 403
    added = secure_client.put(f"/api/v1/projects/{HERE}/members/bob", headers=ada)
    assert added.json()["members"] == ["ada", "bob"]
    assert secure_client.get(f"/api/v1/projects/{HERE}", headers=bearer(cast.user_there)).status_code == 200
    removed = secure_client.delete(f"/api/v1/projects/{HERE}/members/bob", headers=ada)
    assert removed.json()["members"] == ["ada"]
    assert secure_client.get(f"/api/v1/projects/{HERE}", headers=bearer(cast.user_there)).status_code == 403
    assert secure_client.get("/api/v1/projects/ghost/members", headers=bearer(cast.admin)).status_code == 404


def test_a_revoked_token_is_refused_on_every_door(secure_client, cast: Cast, db):
    from gateway.app.auth import tokens
    from gateway.app.auth.gate import policy_keys, route_table

    with db.get_session() as session:
        principal, _ = tokens.authenticate(session, cast.agent_here)
        tokens.revoke(session=session, token_id=principal.token_id)
    for entry in route_table(secure_client.app.routes):
        for key in policy_keys(entry):
            if key.startswith("WS "):
                continue
            method, path = key.split(" ", 1)
            url = path.replace("{project_id}", HERE).replace("{task_id}", "1").replace("{version}", "1")
            url = url.replace("{artifact_id}", "1").replace("{slug}", "x").replace("{name}", "x")
            url = url.replace("{token_id}", "1").replace("{kind}", "user")
            response = secure_client.request(
                "POST" if method == "ANY" else method, url, headers=bearer(cast.agent_here)
            )
            assert response.status_code == 401, (key, response.status_code)
    url = f"/api/v1/projects/{HERE}/events/ws?token={cast.agent_here}"
    with secure_client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 4401
