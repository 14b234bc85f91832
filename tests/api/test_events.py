"""/api/v1/…/events over HTTP and WebSocket: replay, then live, in order, with no gap and no duplicate."""

import json
import threading

import pytest
from starlette.websockets import WebSocketDisconnect

from gateway.app.config import Settings
from gateway.app.services import event_log
from tests.conftest import LocalClient

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    # Short heartbeats: a test that waits for a frame never blocks for long.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        log_format="json",
        events_heartbeat_s=0.2,
        events_poll_interval_s=0.5,
    )


def create(client, project_id: str) -> dict:
    response = client.post("/api/v1/projects", json={"id": project_id, "name": project_id.title()})
    assert response.status_code == 201, response.text
    return response.json()


def change(client, project_id: str, n: int = 0, **headers: str) -> None:
    response = client.patch(f"/api/v1/projects/{project_id}", json={"description": f"change {n}"}, headers=headers)
    assert response.status_code == 200, response.text


def next_message(ws, *, skip=("heartbeat",), budget: int = 100) -> dict:
    """The next frame that is not a heartbeat (a stuck stream fails after `budget` heartbeats)."""
    for _ in range(budget):
        message = ws.receive_json()
        if message["kind"] not in skip:
            return message
    raise AssertionError("only heartbeats")


def next_events(ws, count: int) -> list[dict]:
    received = []
    while len(received) < count:
        message = next_message(ws)
        assert message["kind"] == "event", message
        received.append(message["event"])
    return received


def closed_with(ws) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as closed:
        next_message(ws)
    return closed.value.code, closed.value.reason


# --- HTTP --------------------------------------------------------------------------------------------


def test_a_project_s_events_are_listed_in_pages(client):
    project = create(client, "p")
    for n in range(4):
        change(client, "p", n)
    first = client.get("/api/v1/projects/p/events", params={"limit": 3}).json()
    assert [e["seq"] for e in first["items"]] == [1, 2, 3]
    assert (first["head"], first["next_after"]) == (6, 3)
    assert [e["type"] for e in first["items"][:2]] == ["project.created", "context.updated"]
    assert first["items"][0]["data"] == {"name": "P", "genre": None, "engine": None}
    rest = client.get("/api/v1/projects/p/events", params={"after": 3, "limit": 4}).json()
    assert [e["seq"] for e in rest["items"]] == [4, 5, 6]
    assert rest["next_after"] is None
    # The project resource says which seq its state is current as of: the snapshot to follow from.
    assert project["event_seq"] == 2
    assert client.get("/api/v1/projects/p").json()["event_seq"] == 6


def test_every_project_s_events_are_listed_by_position(client):
    create(client, "a")
    create(client, "b")
    change(client, "a")
    page = client.get("/api/v1/events").json()
    assert [(e["project_id"], e["seq"]) for e in page["items"]] == [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("a", 3)]
    positions = [e["position"] for e in page["items"]]
    assert positions == sorted(positions)
    after = client.get("/api/v1/events", params={"after": positions[0]}).json()
    assert [e["position"] for e in after["items"]] == positions[1:]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("path", "params", "status", "slug"),
    [
        ("/api/v1/projects/nope/events", {}, 404, "not-found"),
        ("/api/v1/projects/p/events", {"after": "x"}, 422, "validation-error"),
        ("/api/v1/projects/p/events", {"after": -1}, 422, "validation-error"),
        ("/api/v1/projects/p/events", {"after": 3}, 422, "validation-error"),
        ("/api/v1/projects/p/events", {"limit": 0}, 422, "validation-error"),
        ("/api/v1/events", {"after": 99}, 422, "validation-error"),
    ],
)
def test_bad_requests_are_problems(client, path, params, status, slug):
    create(client, "p")
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == f"/problems/{slug}"


def test_history_no_longer_kept_is_a_410_that_says_where_it_starts(client, db):
    create(client, "p")
    for n in range(5):
        change(client, "p", n)
    with db.get_session() as session:
        event_log.purge(session=session, keep_per_project=2)
    response = client.get("/api/v1/projects/p/events", params={"after": 1})
    assert response.status_code == 410
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "/problems/history-gone"
    assert (problem["oldest_seq"], problem["head"]) == (6, 7)
    assert client.get("/api/v1/projects/p/events", params={"after": 5}).json()["items"][0]["seq"] == 6
    assert client.get("/api/v1/events", params={"after": 1}).status_code == 410
    assert "/problems/history-gone" in {p["type"] for p in client.get("/problems").json()}


# --- WebSocket ---------------------------------------------------------------------------------------


def test_the_websocket_replays_then_streams_live(client):
    create(client, "p")
    change(client, "p", 1)
    with client.websocket_connect("/api/v1/projects/p/events/ws?after=0") as ws:
        hello = ws.receive_json()
        assert hello["kind"] == "hello"
        assert (hello["stream"], hello["project_id"], hello["after"], hello["head"]) == ("project", "p", 0, 3)
        assert [e["seq"] for e in next_events(ws, 3)] == [1, 2, 3]
        change(client, "p", 2)
        live = next_events(ws, 1)[0]
        assert (live["seq"], live["type"], live["data"]) == (4, "project.updated", {"fields": ["description"]})


def test_without_after_the_websocket_starts_from_now(client):
    create(client, "p")
    with client.websocket_connect("/api/v1/projects/p/events/ws") as ws:
        assert ws.receive_json()["after"] == 2
        change(client, "p")
        assert [e["seq"] for e in next_events(ws, 1)] == [3]


def test_a_client_that_reconnects_gets_exactly_what_it_missed_then_live_events(client):
    create(client, "p")
    with client.websocket_connect("/api/v1/projects/p/events/ws?after=0") as ws:
        ws.receive_json()
        last = next_events(ws, 2)[-1]["seq"]
    for n in range(5):  # while it is away
        change(client, "p", n)
    with client.websocket_connect(f"/api/v1/projects/p/events/ws?after={last}") as ws:
        assert ws.receive_json()["head"] == 7
        assert [e["seq"] for e in next_events(ws, 5)] == [3, 4, 5, 6, 7]
        change(client, "p", 99)
        assert [e["seq"] for e in next_events(ws, 1)] == [8]
        ws.close()


def test_subscribing_while_writes_land_leaves_no_gap_and_no_duplicate_at_the_seam(client):
    create(client, "p")
    total = 40
    started = threading.Event()

    def writer() -> None:
        for n in range(total):
            change(client, "p", n)
            if n == 5:
                started.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert started.wait(10)
    with client.websocket_connect("/api/v1/projects/p/events/ws?after=0") as ws:
        ws.receive_json()
        seqs = [e["seq"] for e in next_events(ws, total + 2)]
    thread.join()
    assert seqs == list(range(1, total + 3))


def test_concurrent_writers_are_delivered_complete_and_in_order(client):
    create(client, "p")
    create(client, "q")
    per_thread = 8
    with (
        client.websocket_connect("/api/v1/projects/p/events/ws?after=2") as ws,
        client.websocket_connect("/api/v1/events/ws?after=0") as everything,
    ):
        ws.receive_json()
        everything.receive_json()

        def writer(project_id: str) -> None:
            for n in range(per_thread):
                change(client, project_id, n)

        threads = [threading.Thread(target=writer, args=(pid,)) for pid in ("p", "p", "p", "q", "q")]
        for thread in threads:
            thread.start()
        seqs = [e["seq"] for e in next_events(ws, 3 * per_thread)]
        merged = next_events(everything, 4 + 5 * per_thread)
        for thread in threads:
            thread.join()
    assert seqs == list(range(3, 3 + 3 * per_thread))
    positions = [e["position"] for e in merged]
    assert positions == sorted(set(positions))
    for project_id, count in (("p", 2 + 3 * per_thread), ("q", 2 + 2 * per_thread)):
        assert [e["seq"] for e in merged if e["project_id"] == project_id] == list(range(1, count + 1))


def test_the_all_projects_stream_follows_every_project_and_outlives_a_deletion(client):
    create(client, "a")
    with client.websocket_connect("/api/v1/events/ws?after=0") as ws:
        hello = ws.receive_json()
        assert (hello["stream"], hello["project_id"]) == ("all", None)
        assert [e["type"] for e in next_events(ws, 2)] == ["project.created", "context.updated"]
        create(client, "b")
        assert client.delete("/api/v1/projects/a").status_code == 204
        change(client, "b")
        received = next_events(ws, 4)
        assert [(e["project_id"], e["type"]) for e in received] == [
            ("b", "project.created"),
            ("b", "context.updated"),
            ("a", "project.deleted"),
            ("b", "project.updated"),
        ]


def test_subscribers_of_a_deleted_project_get_its_last_event_and_a_close(client):
    create(client, "p")
    with client.websocket_connect("/api/v1/projects/p/events/ws") as ws:
        ws.receive_json()
        assert client.delete("/api/v1/projects/p").status_code == 204
        last = next_events(ws, 1)[0]
        assert (last["type"], last["seq"]) == ("project.deleted", 3)
        final = next_message(ws)
        assert (final["kind"], final["project_id"], final["seq"]) == ("project_deleted", "p", 3)
        assert closed_with(ws) == (4404, "project deleted")


def test_idle_connections_get_heartbeats(client):
    create(client, "p")
    with client.websocket_connect("/api/v1/projects/p/events/ws") as ws:
        assert ws.receive_json()["heartbeat_s"] == 0.2
        assert ws.receive_json() == {"kind": "heartbeat", "head": 2}


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("path", "code", "kind", "reason"),
    [
        ("/api/v1/projects/p/events/ws?after=abc", 4400, "error", "invalid_after"),
        ("/api/v1/projects/p/events/ws?after=", 4400, "error", "invalid_after"),
        ("/api/v1/events/ws?after=", 4400, "error", "invalid_after"),
        ("/api/v1/projects/p/events/ws?after=-1", 4400, "error", "invalid_after"),
        ("/api/v1/projects/p/events/ws?after=3", 4400, "error", "invalid_after"),
        ("/api/v1/events/ws?after=99", 4400, "error", "invalid_after"),
        ("/api/v1/projects/nope/events/ws", 4404, "error", "unknown_project"),
        ("/api/v1/projects/nope/events/ws?after=0", 4404, "error", "unknown_project"),
    ],
)
def test_bad_subscriptions_are_told_why_and_closed_with_a_documented_code(client, path, code, kind, reason):
    create(client, "p")
    with client.websocket_connect(path) as ws:
        message = ws.receive_json()
        assert (message["kind"], message["code"], message["reason"]) == (kind, code, reason)
        assert message["detail"]
        assert closed_with(ws) == (code, reason)


def test_a_subscriber_whose_history_is_gone_is_told_to_reload(client, db):
    create(client, "p")
    for n in range(4):
        change(client, "p", n)
    with db.get_session() as session:
        event_log.purge(session=session, keep_per_project=1)
    with client.websocket_connect("/api/v1/projects/p/events/ws?after=2") as ws:
        reset = ws.receive_json()
        assert (reset["kind"], reset["reason"], reset["oldest_seq"], reset["head"]) == ("reset", "history_gone", 6, 6)
        assert closed_with(ws) == (4410, "history_gone")
    with client.websocket_connect("/api/v1/events/ws?after=1") as ws:
        assert ws.receive_json()["kind"] == "reset"
        assert closed_with(ws)[0] == 4410
    # Reloading the project gives the seq to follow from.
    event_seq = client.get("/api/v1/projects/p").json()["event_seq"]
    with client.websocket_connect(f"/api/v1/projects/p/events/ws?after={event_seq}") as ws:
        assert ws.receive_json()["kind"] == "hello"


# --- Correlation -------------------------------------------------------------------------------------


def _log_lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


@pytest.mark.sqlite_only
def test_a_request_can_be_followed_from_its_log_lines_to_the_events_it_caused(client, capfd):
    create(client, "p")
    change(client, "p", 1, **{"X-Request-ID": "trace-me-1"})
    lines = [line for line in _log_lines(capfd.readouterr().err) if line.get("request_id") == "trace-me-1"]
    committed = next(line for line in lines if line["event"] == "events committed")
    assert committed["seqs"] == {"p": 3}
    assert {"project updated", "request"} <= {line["event"] for line in lines}
    caused = [e for e in client.get("/api/v1/events").json()["items"] if e["correlation_id"] == "trace-me-1"]
    assert [e["id"] for e in caused] == committed["event_ids"]


@pytest.mark.sqlite_only
def test_websocket_log_lines_carry_the_connection_s_request_id(client, capfd):
    create(client, "p")
    with client.websocket_connect("/api/v1/projects/p/events/ws?after=0", headers={"X-Request-ID": "ws-7"}) as ws:
        assert ws.receive_json()["request_id"] == "ws-7"
        next_events(ws, 1)
    with client.websocket_connect("/api/v1/projects/nope/events/ws") as ws:
        generated = ws.receive_json()["detail"] and None
    lines = _log_lines(capfd.readouterr().err)
    mine = {line["event"] for line in lines if line.get("request_id") == "ws-7"}
    assert {"events subscriber connected", "events subscriber closed"} <= mine
    refused = next(line for line in lines if line["event"] == "events subscriber refused")
    assert len(refused["request_id"]) == 32  # none was sent: one was made up, as for HTTP
    assert generated is None


@pytest.mark.sqlite_only
def test_retention_runs_in_the_background_when_configured(database_url, db, tmp_path):
    import time

    from gateway.app.main import create_app

    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        events_retention_per_project=2,
        events_retention_days=30,
        events_purge_interval_s=0.1,
    )
    with LocalClient(create_app(settings, db=db)) as client:
        create(client, "p")
        for n in range(4):
            change(client, "p", n)
        deadline = time.monotonic() + 10
        while [e["seq"] for e in client.get("/api/v1/projects/p/events").json()["items"]] != [5, 6]:
            assert time.monotonic() < deadline, "retention did not run"
            time.sleep(0.05)
        assert client.get("/api/v1/projects/p/events", params={"after": 1}).status_code == 410
