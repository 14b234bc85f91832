"""Tokens: random, shown once, stored hashed, revocable, expiring; principals, members and agent scopes."""

from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.app.auth import tokens
from gateway.app.db import ApiTokenDB, utc_now
from gateway.app.errors import Conflict, InvalidInput, NotFound
from tests.auth.conftest import make_project


def run(db, use_case, **kwargs):
    """One use case, one session (as a request would)."""
    with db.get_session() as session:
        return use_case(session=session, **kwargs)


def test_a_token_is_random_shown_once_and_stored_only_as_its_hash(db):
    make_project(db, "p", accept=False)
    first = run(db, tokens.issue, kind="agent", name="claude-1", projects=["p"], label="laptop")
    second = run(db, tokens.issue, kind="agent", name="claude-1", projects=["p"])
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
    good = run(db, tokens.issue, kind="user", name="ada", admin=True)
    doomed = run(db, tokens.issue, kind="user", name="ada")
    short = run(db, tokens.issue, kind="user", name="eve", expires_at=utc_now() + timedelta(seconds=60))
    run(db, tokens.revoke, token_id=doomed.token["id"])
    assert run(db, tokens.revoke, token_id=doomed.token["id"])["state"] == "revoked"  # harmless again
    with db.get_session() as session:
        row = session.get(ApiTokenDB, short.token["id"])
        row.expires_at = utc_now() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    with db.read_session() as session:
        principal, reason = tokens.authenticate(session, good.secret)
        assert reason == "ok"
        assert (principal.kind, principal.name, principal.role) == ("user", "ada", "admin")
        assert principal.token_id == good.token["id"]
        assert tokens.authenticate(session, "gw_" + "A" * 43) == (None, "unknown")
        assert tokens.authenticate(session, "not a token") == (None, "malformed")
        assert tokens.authenticate(session, doomed.secret) == (None, "revoked")
        assert tokens.authenticate(session, short.secret) == (None, "expired")
        assert [t["state"] for t in tokens.list_(session=session, include_inactive=True)] == [
            "active",
            "revoked",
            "expired",
        ]
    run(db, tokens.disable, kind="user", name="ada")
    with db.read_session() as session:
        assert tokens.authenticate(session, good.secret) == (None, "revoked")
    with pytest.raises(NotFound):
        run(db, tokens.revoke, token_id=999)
    with pytest.raises(Conflict):
        run(db, tokens.issue, kind="user", name="ada")


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
    user = run(db, tokens.issue, kind="user", name="ada", projects=["p"])
    run(db, tokens.issue, kind="agent", name="a1", projects=["p"])
    run(db, tokens.add_member, project_id="p", name="bob")
    assert run(db, tokens.members, project_id="p") == ["ada", "bob"]
    run(db, tokens.remove_member, project_id="p", name="bob")
    with db.get_session() as session:
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
