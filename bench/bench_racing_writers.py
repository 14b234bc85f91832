"""Racing writers: N concurrent HTTP clients mixing every kind of write against one gateway worker.

Starts the real app (`python -m gateway serve`, one uvicorn worker) on a loopback port in a child process, with
its database and data directory in a temp dir, and runs `--clients` threads (one httpx2 client each) for
`--seconds` (or until `--ops` operations), each picking at random among:

- project create and PATCH; plan proposals, revisions, edits and accepts;
- claim-next, claim, start, release, block/unblock, complete of tasks (agents racing on the same plan);
- global context PATCH (If-Match of what was read, retried on 412 as a client would) and task-context PUT;
- task create/PATCH/DELETE (tasks outside a plan), artifact metadata create, small file uploads;
- reads in between (project, plan, tasks, context).

Prints, per operation and in total: responses by status class, throughput, median/p99/max latency, every 5xx
(with the body's first line) and whether any body says "locked". Exits 1 when any response was a 5xx or a
transport error, so it can run as a check.

    .venv/bin/python bench/bench_racing_writers.py [--clients 50] [--seconds 20] [--database-url URL]

`--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres` runs on a fresh scratch database on that
server (dropped afterwards). `--clients 30` gives the reference figure the issue compares against.
"""

import argparse
import collections
import contextlib
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx2
from bench_tasks import Server, database, database_banner, load, migrate
from common import machine

API = "/api/v1"
BRIEF = {"genre": "platformer", "engine": "godot", "platforms": ["pc"], "features": ["save-system"]}


class Stats:
    """Thread-safe tally of statuses and latencies, per operation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.failures: list[str] = []

    def add(self, op: str, status: int | str, seconds: float, body: str = "") -> None:
        with self.lock:
            self.latencies[op].append(seconds)
            self.statuses[op][status] += 1
            if isinstance(status, str) or status >= 500 or "locked" in body:
                self.failures.append(f"{op}: {status} {body.strip().splitlines()[0][:200] if body.strip() else ''}")


class Client:
    """One simulated user or agent with its own HTTP connection."""

    def __init__(self, url: str, stats: Stats, projects: list[str], seed: int) -> None:
        self.http = httpx2.Client(base_url=url, timeout=120)
        self.stats = stats
        self.projects = projects
        self.random = random.Random(seed)
        self.agent = f"agent-{seed}"
        self.created: list[str] = []

    def call(self, op: str, method: str, path: str, **kwargs) -> httpx2.Response | None:
        started = time.perf_counter()
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx2.HTTPError as exc:
            self.stats.add(op, type(exc).__name__, time.perf_counter() - started, str(exc))
            return None
        elapsed = time.perf_counter() - started
        self.stats.add(op, response.status_code, elapsed, response.text if response.status_code >= 500 else "")
        return response

    def project(self) -> str:
        return self.random.choice(self.projects)

    def some_task(self, project: str) -> int | None:
        response = self.call("read tasks", "GET", f"{API}/projects/{project}/tasks", params={"limit": 50})
        if response is None or response.status_code != 200:
            return None
        items = response.json().get("items", [])
        return self.random.choice(items)["id"] if items else None

    # --- operations ---------------------------------------------------------------------------------

    def create_project(self) -> None:
        slug = f"p-{self.agent}-{len(self.created)}-{self.random.randrange(10**6)}"
        response = self.call(
            "project create", "POST", f"{API}/projects", json={"id": slug, "name": slug, "brief": BRIEF}
        )
        if response is not None and response.status_code == 201:
            self.created.append(slug)

    def patch_project(self) -> None:
        self.call("project patch", "PATCH", f"{API}/projects/{self.project()}", json={"description": "racing"})

    def propose(self) -> None:
        self.call("plan propose", "POST", f"{API}/projects/{self.project()}/plans", json={})

    def revise(self) -> None:
        project = self.project()
        plans = self.call("read plans", "GET", f"{API}/projects/{project}/plans")
        if plans is None or plans.status_code != 200 or not plans.json()["items"]:
            return
        version = plans.json()["items"][0]["version"]
        self.call(
            "plan revise",
            "POST",
            f"{API}/projects/{project}/plans/{version}/revisions",
            json={"text": "more polish"},
        )

    def accept(self) -> None:
        project = self.project()
        plans = self.call("read plans", "GET", f"{API}/projects/{project}/plans")
        if plans is None or plans.status_code != 200 or not plans.json()["items"]:
            return
        version = plans.json()["items"][0]["version"]
        self.call("plan accept", "POST", f"{API}/projects/{project}/plans/{version}/accept")

    def claim_next(self) -> None:
        project = self.project()
        response = self.call(
            "claim next", "POST", f"{API}/projects/{project}/tasks/next/claim", json={"agent_id": self.agent}
        )
        if response is not None and response.status_code == 200:
            task = response.json()["id"]
            action = self.random.choice(["release", "start", "complete", "block"])
            base = f"{API}/projects/{project}/tasks/{task}"
            if action == "release":
                self.call("release", "POST", f"{base}/release", json={"agent_id": self.agent})
            elif action == "start":
                self.call("start", "POST", f"{base}/start", json={"agent_id": self.agent})
            elif action == "complete":
                self.call("start", "POST", f"{base}/start", json={"agent_id": self.agent})
                self.call("complete", "POST", f"{base}/complete", json={"agent_id": self.agent, "summary": "done"})
            else:
                self.call("block", "POST", f"{base}/block", json={"agent_id": self.agent, "reason": "waiting"})
                self.call("unblock", "POST", f"{base}/unblock", json={})

    def release_any(self) -> None:
        project = self.project()
        task = self.some_task(project)
        if task is not None:
            self.call(
                "release", "POST", f"{API}/projects/{project}/tasks/{task}/release", json={"agent_id": self.agent}
            )

    def patch_context(self) -> None:
        project = self.project()
        for _ in range(5):
            read = self.call("read context", "GET", f"{API}/projects/{project}/context")
            if read is None or read.status_code != 200:
                return
            response = self.call(
                "context patch",
                "PATCH",
                f"{API}/projects/{project}/context",
                content=f'{{"notes": {{"{self.agent}": {self.random.randrange(10**6)}}}}}',
                headers={"If-Match": read.headers["etag"], "Content-Type": "application/merge-patch+json"},
            )
            if response is None or response.status_code != 412:
                return

    def put_task_context(self) -> None:
        project = self.project()
        task = self.some_task(project)
        if task is None:
            return
        path = f"{API}/projects/{project}/tasks/{task}/context"
        read = self.call("read context", "GET", path)
        headers = {"If-Match": read.headers["etag"]} if read is not None and read.status_code == 200 else {}
        self.call("task context put", "PUT", path, json={"note": self.agent}, headers=headers)

    def loose_task(self) -> None:
        project = self.project()
        response = self.call(
            "task create", "POST", f"{API}/projects/{project}/tasks", json={"title": f"loose {self.agent}"}
        )
        if response is None or response.status_code != 201:
            return
        task = response.json()["id"]
        self.call("task patch", "PATCH", f"{API}/projects/{project}/tasks/{task}", json={"priority": 3})
        if self.random.random() < 0.5:
            self.call("task delete", "DELETE", f"{API}/projects/{project}/tasks/{task}")

    def artifact(self) -> None:
        project = self.project()
        if self.random.random() < 0.5:
            self.call(
                "artifact create",
                "POST",
                f"{API}/projects/{project}/artifacts",
                json={"name": "notes.md", "path": "docs/notes.md", "category": "document"},
            )
        else:
            body = f"# notes {self.agent} {self.random.randrange(10**9)}\n".encode()
            self.call(
                "upload",
                "POST",
                f"{API}/projects/{project}/artifacts/files",
                params={"category": "document"},
                files={"file": ("notes.md", body, "text/markdown")},
            )

    def read(self) -> None:
        project = self.project()
        self.call("read project", "GET", f"{API}/projects/{project}")
        self.call("read active plan", "GET", f"{API}/projects/{project}/plans/active")

    OPERATIONS = (
        (create_project, 3),
        (patch_project, 4),
        (propose, 8),
        (revise, 4),
        (accept, 4),
        (claim_next, 20),
        (release_any, 8),
        (patch_context, 12),
        (put_task_context, 6),
        (loose_task, 8),
        (artifact, 8),
        (read, 10),
    )

    def run(self, stop: threading.Event, remaining: list[int], counter: threading.Lock) -> None:
        functions, weights = zip(*self.OPERATIONS, strict=True)
        while not stop.is_set():
            with counter:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            self.random.choices(functions, weights)[0](self)
        self.http.close()


def setup(url: str, count: int) -> list[str]:
    """`count` projects, each with an accepted plan."""
    projects = []
    run = uuid.uuid4().hex[:6]
    with httpx2.Client(base_url=url, timeout=60) as http:
        for n in range(count):
            slug = f"race-{run}-{n}"
            http.post(f"{API}/projects", json={"id": slug, "name": slug, "brief": BRIEF}).raise_for_status()
            plan = http.post(f"{API}/projects/{slug}/plans", json={}).raise_for_status().json()
            http.post(f"{API}/projects/{slug}/plans/{plan['version']}/accept").raise_for_status()
            projects.append(slug)
    return projects


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def report(stats: Stats, elapsed: float, clients: int) -> bool:
    total = sum(sum(counter.values()) for counter in stats.statuses.values())
    every = [value for values in stats.latencies.values() for value in values]
    print(f"\n{clients} clients, {elapsed:.1f} s, {total} requests, {total / elapsed:.1f} requests/s")
    print(
        f"{'operation':<20} {'n':>6} {'2xx':>6} {'4xx':>6} {'5xx':>5} {'other':>5} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for op in sorted(stats.statuses):
        counter = stats.statuses[op]
        by_class = collections.Counter()
        for status, n in counter.items():
            by_class[f"{status // 100}xx" if isinstance(status, int) else "other"] += n
        values = stats.latencies[op]
        print(
            f"{op:<20} {len(values):>6} {by_class['2xx']:>6} {by_class['4xx']:>6} {by_class['5xx']:>5} "
            f"{by_class['other']:>5} {statistics.median(values) * 1000:>8.1f} {p99(values) * 1000:>8.1f} "
            f"{max(values) * 1000:>8.1f}"
        )
    print(
        f"{'all':<20} {len(every):>6} {'':>6} {'':>6} {'':>5} {'':>5} {statistics.median(every) * 1000:>8.1f} "
        f"{p99(every) * 1000:>8.1f} {max(every) * 1000:>8.1f}"
    )
    locked = sum("locked" in failure for failure in stats.failures)
    print(f"5xx or transport errors: {len(stats.failures)}; mentioning 'locked': {locked}")
    for failure, n in collections.Counter(stats.failures).most_common(10):
        print(f"  {n} x {failure}")
    return not stats.failures


def race(url: str, args: argparse.Namespace) -> bool:
    """Set up, run the clients for the time or operations given, and report; True when nothing failed."""
    projects = setup(url, args.projects)
    stats = Stats()
    stop = threading.Event()
    remaining, counter = [args.ops], threading.Lock()
    clients = [Client(url, stats, projects, seed) for seed in range(args.clients)]
    threads = [threading.Thread(target=c.run, args=(stop, remaining, counter)) for c in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    with contextlib.suppress(KeyboardInterrupt):
        deadline = started + args.seconds
        while time.perf_counter() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    return report(stats, time.perf_counter() - started, args.clients)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--ops", type=int, default=100_000, help="stop after this many operations")
    parser.add_argument("--projects", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--url", default=None, help="probe a gateway already serving there instead of starting one")
    parser.add_argument("--keep-log", default=None, help="copy the server's log to this file")
    args = parser.parse_args()

    print("Racing writers over HTTP (one uvicorn worker)")
    print(f"machine: {machine()}; load {load()}")
    if args.url:
        print(f"gateway: {args.url} (already serving)")
        return 0 if race(args.url, args) else 1
    with tempfile.TemporaryDirectory(prefix="gw-race-") as tmp, database(args.database_url, Path(tmp)) as url:
        migrate(url)
        print(f"database: {database_banner(url)}")
        server = Server(Path(tmp), url, GATEWAY_LOG_LEVEL="ERROR")
        try:
            ok = race(server.url, args)
        finally:
            server.stop()
        log = server.log_path.read_text()
        errors = collections.Counter(re.findall(r"\b((?:\w+\.)*\w*(?:Error|Exception|Timeout)\b[^\\\n\"]{0,90})", log))
        print(f"server log: {log.count('Traceback')} tracebacks")
        for error, n in errors.most_common(8):
            print(f"  {n} x {error}")
        if args.keep_log:
            Path(args.keep_log).write_text(log)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
