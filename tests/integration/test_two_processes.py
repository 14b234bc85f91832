"""Two real gateway processes on one PostgreSQL database and one Redis: every subscriber gets every event.

Each gateway is `python -m gateway serve` on its own loopback port. Their periodic database re-check is
set to a minute, so what arrives within seconds came through Redis (or through the re-check each process
makes when its Redis subscription comes back).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gateway:
    """One `gateway serve` process."""

    def __init__(self, *, database_url: str, redis_url: str, channel: str, log_dir: Path, name: str) -> None:
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_REDIS_URL": redis_url,
            "GATEWAY_REDIS_CHANNEL": channel,
            "GATEWAY_EVENTS_POLL_INTERVAL_S": "60",
            "GATEWAY_EVENTS_HEARTBEAT_S": "0.5",
            "GATEWAY_LOG_LEVEL": "INFO",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--port", str(self.port)],
                cwd=log_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://{self.base}/health", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise AssertionError("gateway did not start")

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://{self.base}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 201), response.status
            return json.loads(response.read())

    @contextlib.contextmanager
    def subscribe(self, path: str) -> Iterator[ClientConnection]:
        with connect(f"ws://{self.base}{path}", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=5))["kind"] == "hello"
            yield ws

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def events(ws: ClientConnection, count: int, timeout: float = 10.0) -> list[dict]:
    """The next `count` events (heartbeats skipped); fails if they do not all come within `timeout`."""
    received: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(received) < count:
        try:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            raise AssertionError(f"got {len(received)} of {count} events in {timeout} s") from None
        if message["kind"] == "event":
            received.append(message["event"])
    return received


def nothing_for(ws: ClientConnection, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return
        assert message["kind"] == "heartbeat", message


@pytest.fixture
def shared_database(postgres_server, postgres_template) -> Iterator[str]:
    name = f"gw_two_{uuid.uuid4().hex[:12]}"
    yield postgres_server.create(name, template=postgres_template)
    postgres_server.drop(name)


@pytest.fixture
def redis_proxy(redis_server_url) -> Iterator[tuple[TcpProxy, str]]:
    target = urlsplit(redis_server_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        yield proxy, f"redis://127.0.0.1:{proxy.port}{target.path}"


@pytest.fixture
def gateways(shared_database, redis_proxy, redis_channel, tmp_path) -> Iterator[tuple[Gateway, Gateway]]:
    _proxy, redis_url = redis_proxy
    started: list[Gateway] = []
    try:
        for name in ("a", "b"):
            started.append(
                Gateway(
                    database_url=shared_database,
                    redis_url=redis_url,
                    channel=redis_channel,
                    log_dir=tmp_path,
                    name=name,
                )
            )
        yield started[0], started[1]
    finally:
        for gateway in started:
            gateway.stop()


def test_a_write_through_one_process_reaches_subscribers_of_the_other(gateways):
    a, b = gateways
    project = a.request("POST", "/api/v1/projects", {"id": "shared", "name": "Shared"})
    with (
        b.subscribe(f"/api/v1/projects/shared/events/ws?after={project['event_seq']}") as ws,
        b.subscribe("/api/v1/events/ws") as everything,
    ):
        for n in range(3):
            a.request("PATCH", "/api/v1/projects/shared", {"description": f"v{n}"})
        assert [e["seq"] for e in events(ws, 3, timeout=5)] == [3, 4, 5]
        assert [(e["project_id"], e["seq"]) for e in events(everything, 3, timeout=5)] == [
            ("shared", 3),
            ("shared", 4),
            ("shared", 5),
        ]
    # And the other way round, on the same database.
    with a.subscribe("/api/v1/projects/shared/events/ws") as ws:
        b.request("PATCH", "/api/v1/projects/shared", {"description": "from b"})
        assert [e["seq"] for e in events(ws, 1, timeout=5)] == [6]


def test_redis_unreachable_for_a_moment_loses_nothing(gateways, redis_proxy):
    a, b = gateways
    proxy, _url = redis_proxy
    project = a.request("POST", "/api/v1/projects", {"id": "outage", "name": "Outage"})
    assert project["event_seq"] == 2
    with b.subscribe(f"/api/v1/projects/outage/events/ws?after={project['event_seq']}") as ws:
        a.request("PATCH", "/api/v1/projects/outage", {"description": "before"})
        assert [e["seq"] for e in events(ws, 1, timeout=5)] == [3]

        proxy.cut()
        for n in range(3):  # requests succeed while Redis is away; their wake-ups wait
            a.request("PATCH", "/api/v1/projects/outage", {"description": f"during {n}"})
        nothing_for(ws, 1.0)

        proxy.restore()
        assert [e["seq"] for e in events(ws, 3, timeout=10)] == [4, 5, 6]
        a.request("PATCH", "/api/v1/projects/outage", {"description": "after"})
        assert [e["seq"] for e in events(ws, 1, timeout=5)] == [7]
        nothing_for(ws, 0.5)  # and nothing twice
