"""Structured logs: JSON lines on stderr, each line of a request carrying its X-Request-ID."""

import json

import pytest


def _lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


pytestmark = pytest.mark.sqlite_only


def test_every_line_of_a_request_carries_its_request_id(client, capfd):
    response = client.post(
        "/api/v1/projects", json={"id": "logged", "name": "Logged"}, headers={"X-Request-ID": "req-42"}
    )
    assert response.headers["x-request-id"] == "req-42"
    lines = [line for line in _lines(capfd.readouterr().err) if line.get("request_id") == "req-42"]
    events = {line["event"] for line in lines}
    assert {"project created", "request"} <= events
    access = next(line for line in lines if line["event"] == "request")
    assert (access["method"], access["path"], access["status"]) == ("POST", "/api/v1/projects", 201)
    assert access["duration_ms"] >= 0
    assert all(line["timestamp"].endswith("Z") and "level" in line for line in lines)


def test_a_request_id_is_generated_when_none_is_sent(client, capfd):
    response = client.get("/health")
    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    assert any(line.get("request_id") == generated for line in _lines(capfd.readouterr().err))


@pytest.mark.parametrize("bad", ["has space", "x" * 200, "new\tline"])
def test_unsafe_request_ids_are_replaced(client, bad):
    response = client.get("/health", headers={"X-Request-ID": bad})
    assert response.headers["x-request-id"] != bad
    assert len(response.headers["x-request-id"]) == 32


def test_error_responses_carry_the_request_id_too(client):
    response = client.get("/api/v1/projects/none", headers={"X-Request-ID": "err-1"})
    assert response.headers["x-request-id"] == "err-1"
    assert response.json()["request_id"] == "err-1"
