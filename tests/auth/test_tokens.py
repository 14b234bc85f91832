"""Tokens: random, shown once, stored hashed, revocable, expiring; principals, members and agent scopes."""

from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.app.auth import tokens
from gateway.app.db import ApiTokenDB, utc_now
from gateway.app.errors import Conflict, InvalidInput, NotFound
from tests.auth.conftest import make_project


def test_a_token_is_random_shown_once_and_stored_only_as_its_hash(db):
    make_project(db, "p", accept=False)
    with db.get_session() as session:
        first = tokens.issue(session=session, kind="agent", name="claude-1", projects=["p"], label="laptop")
        second = tokens.issue(session=session, kind="agent", name="claude-1", projects=["p"])
    assert first.secret != second.secret
    assert first.secret.startswith("gw_")
    assert len(first.secret) > 40
    with db.read_session() as session:
        rows = session.exec(select(ApiTokenDB)).all()
        stored = " ".join(str(value) for row in rows for value in row.model_dump().values())
        assert first.secret not in stored
        assert second.secret not in stored
        assert rows[0].token_hash == tokens.digest(first.secret)
        listed = tokens.list_(session=session)
    assert [t["id"] for t in listed] == [first.token["id"], second.token["id"]]
    assert "secret" not in listed[0]
    assert "token" not in listed[0]
    assert listed[0]["prefix"] == first.secret[:8]
    assert (listed[0]["role"], listed[0]["projects"], listed[0]["label"]) == ("agent", ["p"], "laptop")


def test_authentication_refuses_unknown_revoked_expired_and_disabled_tokens(db):
    with db.get_session() as session:
        good = tokens.issue(session=session, kind="user", name="ada", admin=True)
        doomed = tokens.issue(session=session, kind="user", name="ada")
        short = tokens.issue(session=session, kind="user", name="eve", expires_at=utc_now() + timedelta(seconds=60))
    with db.get_session() as session:
        principal, reason = tokens.authenticate(session, good.secret)
        assert reason == "ok"
        assert (principal.kind, principal.name, principal.role) == ("user", "ada", "admin")
        assert principal.token_id == good.token["id"]
        assert tokens.authenticate(session, "gw_" + "A" * 43) == (None, "unknown")
        assert tokens.authenticate(session, "not a token") == (None, "malformed")
        tokens.revoke(session=session, token_id=doomed.token["id"])
        assert tokens.revoke(session=session, token_id=doomed.token["id"])["state"] == "revoked"  # harmless again
        assert tokens.authenticate(session, doomed.secret) == (None, "revoked")
        row = session.get(ApiTokenDB, short.token["id"])
        row.expires_at = utc_now() - timedelta(seconds=1)
        session.add(row)
        session.commit()
        assert tokens.authenticate(session, short.secret) == (None, "expired")
        assert [t["state"] for t in tokens.list_(session=session, include_inactive=True)] == [
            "active",
            "revoked",
            "expired",
        ]
        tokens.disable(session=session, kind="user", name="ada")
        assert tokens.authenticate(session, good.secret) == (None, "revoked")
        with pytest.raises(NotFound):
            tokens.revoke(session=session, token_id=999)
        with pytest.raises(Conflict):
            tokens.issue(session=session, kind="user", name="ada")


def test_agents_need_existing_projects_and_cannot_be_administrators(db):
    make_project(db, "p", accept=False)
    with db.get_session() as session:
        with pytest.raises(InvalidInput):
            tokens.issue(session=session, kind="agent", name="a1")
        with pytest.raises(InvalidInput):
            tokens.issue(session=session, kind="agent", name="a1", projects=["p"], admin=True)
        with pytest.raises(NotFound):
            tokens.issue(session=session, kind="agent", name="a1", projects=["nope"])
        with pytest.raises(InvalidInput):
            tokens.issue(session=session, kind="user", name="bad name!")
        with pytest.raises(InvalidInput):
            tokens.issue(session=session, kind="user", name="ada", expires_at=utc_now() - timedelta(days=1))
        assert tokens.list_(session=session) == []


def test_members_and_scopes_go_with_their_project(db):
    make_project(db, "p", accept=False)
    with db.get_session() as session:
        user = tokens.issue(session=session, kind="user", name="ada", projects=["p"])
        tokens.issue(session=session, kind="agent", name="a1", projects=["p"])
        tokens.add_member(session=session, project_id="p", name="bob")
        assert tokens.members(session=session, project_id="p") == ["ada", "bob"]
        tokens.remove_member(session=session, project_id="p", name="bob")
        assert tokens.members(session=session, project_id="p") == ["ada"]
        assert {(p["kind"], p["name"], tuple(p["projects"])) for p in tokens.principals(session=session)} == {
            ("agent", "a1", ("p",)),
            ("user", "ada", ("p",)),
            ("user", "bob", ()),
        }
        from gateway.app.services import projects

        projects.delete_(session=session, project_id="p")
        assert tokens.members(session=session, project_id="p") == []
        principal, _ = tokens.authenticate(session, user.secret)
        assert tokens.member_projects(session, principal_id=principal.id) == []
