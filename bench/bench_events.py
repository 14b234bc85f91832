"""Event delivery: latency from a committed change to its arrival at WebSocket subscribers, and memory per connection.

Starts real gateway processes (`python -m gateway serve`) on loopback ports and real WebSocket clients:

- one process, in-process fan-out (SQLite): 1, 100 and 500 subscribers of one project;
- two processes through Redis (PostgreSQL when reachable, else a shared SQLite file): writes through A,
  subscribers on B;
- the resident memory each idle WebSocket costs the server (RSS delta / connections).

Latency is measured from the event's `created_at` (stamped inside the transaction, just before its commit)
to the moment a client has the frame; both clocks are this machine's. Each configuration runs several
times; the report gives the median over runs of each run's median and p99.

    .venv/bin/python bench/bench_events.py [--runs 5] [--events 50] [--subscribers 1,100,500]
"""

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

from common import machine
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("GATEWAY_BENCH_POSTGRES_URL") or os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("GATEWAY_BENCH_REDIS_URL") or os.environ.get(
    "GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Server:
    """One `gateway serve` process."""

    def __init__(self, workdir: Path, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.log = (workdir / f"gateway-{self.port}.log").open("wb")
        environment = {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_EVENTS_WS_MAX_LAG": "5000",
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(self.port)],
            cwd=workdir,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1),
            ):
                return
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"gateway on port {self.port} did not start")
            time.sleep(0.1)

    def request(self, method: str, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "gateway", "migrate", "--database-url", database_url],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


async def open_subscribers(port: int, project_id: str, count: int) -> list:
    url = f"ws://127.0.0.1:{port}/api/v1/projects/{project_id}/events/ws"
    sockets = []
    for start in range(0, count, 50):
        batch = await asyncio.gather(*(connect(url, max_queue=None) for _ in range(min(50, count - start))))
        for ws in batch:
            assert json.loads(await ws.recv())["kind"] == "hello"
        sockets.extend(batch)
    return sockets


async def collect(ws, expected: int, latencies: list[float]) -> None:
    got = 0
    while got < expected:
        message = json.loads(await ws.recv())
        if message["kind"] != "event":
            continue
        arrived = time.time()
        created = datetime.fromisoformat(message["event"]["created_at"].replace("Z", "+00:00")).timestamp()
        latencies.append((arrived - created) * 1000)
        got += 1


async def one_run(writer: Server, reader: Server, project_id: str, subscribers: int, events: int) -> list[float]:
    sockets = await open_subscribers(reader.port, project_id, subscribers)
    latencies: list[float] = []
    try:
        receivers = [asyncio.create_task(collect(ws, events, latencies)) for ws in sockets]
        for n in range(events):
            await asyncio.to_thread(writer.request, "PATCH", f"/api/v1/projects/{project_id}", {"description": str(n)})
            await asyncio.sleep(0.02)
        await asyncio.wait_for(asyncio.gather(*receivers), 120)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


async def measure(writer: Server, reader: Server, label: str, counts: list[int], runs: int, events: int) -> None:
    project_id = f"bench-{uuid.uuid4().hex[:8]}"
    writer.request("POST", "/api/v1/projects", {"id": project_id, "name": "Bench"})
    for subscribers in counts:
        medians, tails = [], []
        for _ in range(runs):
            latencies = await one_run(writer, reader, project_id, subscribers, events)
            medians.append(statistics.median(latencies))
            tails.append(p99(latencies))
        print(
            f"  {label:<34} {subscribers:>4} subscribers: median {statistics.median(medians):7.2f} ms"
            f"   p99 {statistics.median(tails):7.2f} ms   ({runs} runs x {events} events)"
        )


async def memory_per_connection(server: Server, connections: int) -> None:
    project_id = f"idle-{uuid.uuid4().hex[:8]}"
    server.request("POST", "/api/v1/projects", {"id": project_id, "name": "Idle"})
    warm = await open_subscribers(server.port, project_id, 10)  # first connections load code paths
    await asyncio.sleep(1)
    before = rss_kib(server.process.pid)
    sockets = await open_subscribers(server.port, project_id, connections)
    await asyncio.sleep(2)
    after = rss_kib(server.process.pid)
    await asyncio.gather(*(ws.close() for ws in sockets + warm), return_exceptions=True)
    print(
        f"  memory per idle WebSocket: {(after - before) / connections:.1f} KiB"
        f"   (RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB with {connections} connections)"
    )


def postgres_database() -> tuple[str, object] | None:
    """A fresh PostgreSQL database for the two-process run, or None when no server answers."""
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        name = f"gw_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False), drop


def redis_reachable() -> bool:
    try:
        import redis

        client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--subscribers", default="1,100,500")
    parser.add_argument("--idle", type=int, default=500, help="idle connections for the memory measurement")
    args = parser.parse_args()
    counts = [int(n) for n in args.subscribers.split(",")]

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        workdir = Path(tmp)
        sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
        migrate(sqlite_url)
        server = Server(workdir, sqlite_url)
        try:
            await measure(server, server, "one process, in-process (SQLite)", counts, args.runs, args.events)
            await memory_per_connection(server, args.idle)
        finally:
            server.stop()

        if not redis_reachable():
            print(f"  two processes through Redis: skipped ({REDIS} does not answer)")
            return
        database = postgres_database()
        if database is None:
            shared_url, drop, kind = f"sqlite:///{workdir / 'shared.db'}", None, "SQLite"
        else:
            (shared_url, drop), kind = database, "PostgreSQL"
        try:
            migrate(shared_url)
            channel = f"gateway-bench:{uuid.uuid4().hex[:8]}"
            env = {"GATEWAY_REDIS_URL": REDIS, "GATEWAY_REDIS_CHANNEL": channel, "GATEWAY_EVENTS_POLL_INTERVAL_S": "60"}
            a, b = Server(workdir, shared_url, **env), Server(workdir, shared_url, **env)
            try:
                label = f"A -> Redis -> B ({kind})"
                await measure(a, b, label, [n for n in counts if n <= 100], args.runs, args.events)
            finally:
                a.stop()
                b.stop()
        finally:
            if drop is not None:
                drop()


if __name__ == "__main__":
    asyncio.run(main())
