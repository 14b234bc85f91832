"""Idempotency-Key: a repeated POST gets the first answer and changes nothing; a reused key is refused."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from gateway.app.db import EventDB, IdempotencyKeyDB, ProjectDB
from gateway.app.errors import Conflict
from gateway.app.services import idempotency


def test_a_repeated_create_gets_the_first_response_and_creates_nothing(client, db):
    headers = {"Idempotency-Key": "create-star-1"}
    first = client.post("/api/v1/projects", json={"name": "Star"}, headers=headers)
    again = client.post("/api/v1/projects", json={"name": "Star"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    with db.read_session() as session:
        assert len(session.exec(select(ProjectDB)).all()) == 1
    # without a key, the same body is a new request (and a new id)
    assert client.post("/api/v1/projects", json={"name": "Star"}).json()["id"] == "star-2"


def test_a_key_reused_for_another_request_is_refused(client):
    headers = {"Idempotency-Key": "k-1"}
    client.post("/api/v1/projects", json={"name": "One"}, headers=headers)
    other_body = client.post("/api/v1/projects", json={"name": "Two"}, headers=headers)
    assert other_body.status_code == 422
    assert other_body.json()["type"] == "/problems/idempotency-key-reused"
    other_path = client.post("/api/v1/projects/one/plans", headers=headers)
    assert other_path.status_code == 422
    assert client.get("/api/v1/projects").json()["items"][0]["id"] == "one"
    assert (
        client.post("/api/v1/projects", json={"name": "x"}, headers={"Idempotency-Key": "bad key"}).status_code == 422
    )


def test_refusals_are_replayed_too_and_transitions_are_safe_to_repeat(client, db):
    client.post("/api/v1/projects", json={"id": "p", "name": "P"})
    duplicate = {"Idempotency-Key": "dup"}
    assert client.post("/api/v1/projects", json={"id": "p", "name": "P"}, headers=duplicate).status_code == 409
    assert client.post("/api/v1/projects", json={"id": "p", "name": "P"}, headers=duplicate).status_code == 409
    client.post("/api/v1/projects/p/plans")
    key = {"Idempotency-Key": "accept-p-1"}
    accepted = client.post("/api/v1/projects/p/plans/1/accept", headers=key)
    replayed = client.post("/api/v1/projects/p/plans/1/accept", headers=key)
    assert replayed.json() == accepted.json()
    with db.read_session() as session:
        assert len(session.exec(select(EventDB).where(EventDB.type == "plan.accepted")).all()) == 1


def test_a_key_in_flight_is_a_409_and_old_keys_are_forgotten(db):
    assert idempotency.begin(db, key="k", method="POST", path="/x", fingerprint="f") is None
    with pytest.raises(Conflict, match="in progress"):
        idempotency.begin(db, key="k", method="POST", path="/x", fingerprint="f")
    idempotency.finish(db, key="k", status_code=503, headers={}, body=b"")
    assert idempotency.begin(db, key="k", method="POST", path="/x", fingerprint="f") is None  # a 5xx is retryable
    idempotency.finish(db, key="k", status_code=201, headers={"content-type": "application/json"}, body=b"{}")
    assert idempotency.begin(db, key="k", method="POST", path="/x", fingerprint="f").status_code == 201
    with db.get_session() as session:
        row = session.get(IdempotencyKeyDB, "k")
        row.created_at = row.created_at - idempotency.KEEP_FOR * 2
        session.add(row)
        session.commit()
    assert idempotency.purge(db) == 1
    idempotency.abandon(db, key="never-there")


def test_a_key_whose_request_died_is_released_by_its_lease_not_after_a_day(client, db):
    """A crash between taking a key and answering leaves it in flight: after the lease, a repeat takes it over."""
    import time_machine

    body = b'{"id": "p", "name": "P"}'
    headers = {"Idempotency-Key": "crash", "Content-Type": "application/json"}
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        # The first request took the key, then its process died (no finish, no abandon).
        fingerprint = hashlib.sha256(b"\n" + body).hexdigest()
        me = client.get("/api/v1/session").json()  # keys are stored per principal
        stored_key = f"{me['kind']}:{me['name']}/crash"
        assert (
            idempotency.begin(db, key=stored_key, method="POST", path="/api/v1/projects", fingerprint=fingerprint)
            is None
        )
        repeat = client.post("/api/v1/projects", content=body, headers=headers)
        assert repeat.status_code == 409
        clock.shift(idempotency.IN_FLIGHT_LEASE - timedelta(seconds=1))
        assert client.post("/api/v1/projects", content=body, headers=headers).status_code == 409
        clock.shift(timedelta(seconds=2))
        taken_over = client.post("/api/v1/projects", content=body, headers=headers)
        assert taken_over.status_code == 201, taken_over.text
        replay = client.post("/api/v1/projects", content=body, headers=headers)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"


def test_purge_forgets_keys_in_flight_past_their_lease(db):
    import time_machine

    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        assert idempotency.begin(db, key="dead", method="POST", path="/x", fingerprint="f") is None
        assert idempotency.begin(db, key="done", method="POST", path="/x", fingerprint="f") is None
        idempotency.finish(db, key="done", status_code=201, headers={}, body=b"{}")
        assert idempotency.purge(db) == 0
        clock.shift(idempotency.IN_FLIGHT_LEASE + timedelta(seconds=1))
        assert idempotency.purge(db) == 1  # the dead one; the answered one stays for its day
        assert idempotency.begin(db, key="done", method="POST", path="/x", fingerprint="f").status_code == 201
