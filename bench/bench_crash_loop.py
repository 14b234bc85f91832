"""Crash loop: kill -9 a gateway during a stream of mixed writes, restart it, and check what survived.

Starts the real app (`python -m gateway serve`, one worker) on a loopback port in a child process, its database
and data directory in a temp dir. `--clients` threads stream writes at it — tasks created and patched, global
context patches (each a new key), artifact uploads of 0.5-4 MiB (so that kills land mid-upload and between a
file's bytes and its row), artifact metadata, new projects — and record every write the server acknowledged
(a 2xx answer received). After a random 0.3-2.5 s the server gets SIGKILL; then, each cycle:

- on SQLite, `PRAGMA integrity_check` on the database as the crash left it;
- what the crash left in the artifact store (temp files, blobs no artifact references);
- a restart, timed to its first healthy answer, then every acknowledged write read back (a task's title and the
  priority its last acknowledged patch set — or a later one the crash cut after its commit —, each context key,
  each artifact's metadata and its blob on disk, the bytes themselves for this cycle's uploads, each project);
- the store after the restart: no temp file a live writer does not hold (empty ones in their one-minute grace
  are counted apart), no blob without an artifact.

Prints one line per cycle and a summary; exits 1 if any acknowledged write is missing, an integrity check fails or
a leftover survives a restart. `--time-limit` bounds the whole run (cycles stop early, and it says so).

    .venv/bin/python bench/bench_crash_loop.py [--cycles 10] [--clients 4] [--database-url URL] [--seed N]

`--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres` runs on a fresh scratch database on that
server (dropped afterwards). The restart time is printed beside the first (clean) start in the same run, as a
ratio: the cost of recovering from a crash, leftovers included.
"""

import argparse
import collections
import contextlib
import hashlib
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from bench_tasks import Server, database, database_banner, load, migrate
from common import machine
from sqlalchemy import create_engine, text

API = "/api/v1"
PROJECT = "crash-loop"
KiB, MiB = 1024, 1024 * 1024
TEMP_GRACE_S = 60  # gateway.app.storage.TEMP_GRACE_SECONDS: an empty temp file younger than this may be live


@dataclass
class Ledger:
    """Every acknowledged write, and what was attempted after it (a write the crash cut may still have landed)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    tasks: dict[int, str] = field(default_factory=dict)  # id -> title
    priorities: dict[int, set[int | None]] = field(default_factory=dict)  # id -> values it may hold now
    context: dict[str, int] = field(default_factory=dict)  # key under notes -> value
    artifacts: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (sha256, size)
    fresh_uploads: dict[int, str] = field(default_factory=dict)  # this cycle's: id -> sha256 (bytes re-read)
    metadata: dict[int, str] = field(default_factory=dict)  # id -> name
    projects: set[str] = field(default_factory=set)
    acknowledged: int = 0
    cut: int = 0  # requests the kill interrupted (no answer: not acknowledged)
    refused: collections.Counter = field(default_factory=collections.Counter)  # non-2xx answers, by kind

    def count(self) -> None:
        self.acknowledged += 1


class Writer(threading.Thread):
    """One client streaming mixed writes until told to stop or the server dies under it."""

    def __init__(self, url: str, ledger: Ledger, stop: threading.Event, seed: int) -> None:
        super().__init__(daemon=True)
        self.http = httpx2.Client(base_url=url, timeout=30)
        self.ledger = ledger
        self.stop = stop
        self.random = random.Random(seed)
        self.name = f"w{seed}"
        self.mine: list[int] = []  # tasks this writer created (only it patches them)

    def run(self) -> None:
        actions = [self.task, self.task, self.patch_task, self.context, self.upload, self.upload, self.metadata]
        while not self.stop.is_set():
            action = self.random.choice(actions)
            if self.random.random() < 0.03:
                action = self.project
            try:
                action()
            except httpx2.HTTPError:
                with self.ledger.lock:
                    self.ledger.cut += 1
                if not self.stop.wait(0.05):  # the server is gone: wait for the loop to stop us
                    continue
        self.http.close()

    def _ok(self, response: httpx2.Response) -> bool:
        if 200 <= response.status_code < 300:
            return True
        with self.ledger.lock:
            self.ledger.refused[f"{response.request.method} {response.status_code}"] += 1
        return False

    def task(self) -> None:
        title = f"{self.name} task {self.random.randrange(10**9)}"
        response = self.http.post(f"{API}/projects/{PROJECT}/tasks", json={"title": title})
        if self._ok(response):
            task_id = response.json()["id"]
            with self.ledger.lock:
                self.ledger.tasks[task_id] = title
                self.ledger.priorities[task_id] = {response.json().get("priority")}
                self.ledger.count()
            self.mine.append(task_id)

    def patch_task(self) -> None:
        if not self.mine:
            return
        task_id = self.random.choice(self.mine)
        priority = self.random.randrange(1, 5)
        with self.ledger.lock:
            self.ledger.priorities[task_id].add(priority)  # attempted: it may land even if the answer is cut
        response = self.http.patch(f"{API}/projects/{PROJECT}/tasks/{task_id}", json={"priority": priority})
        if self._ok(response):
            with self.ledger.lock:
                self.ledger.priorities[task_id] = {priority}  # acknowledged: only this or a later attempt now
                self.ledger.count()

    def context(self) -> None:
        read = self.http.get(f"{API}/projects/{PROJECT}/context")
        if not self._ok(read):
            return
        key, value = f"{self.name}-{self.random.randrange(10**9)}", self.random.randrange(10**6)
        response = self.http.patch(
            f"{API}/projects/{PROJECT}/context",
            json={"notes": {key: value}},
            headers={"If-Match": read.headers["etag"], "Content-Type": "application/merge-patch+json"},
        )
        if self._ok(response):
            with self.ledger.lock:
                self.ledger.context[key] = value
                self.ledger.count()

    def upload(self) -> None:
        size = self.random.randrange(512 * KiB, 4 * MiB)
        line = f"{self.name} {self.random.randrange(10**9)} ".encode() * 8 + b"\n"
        data = b"# Notes\n" + line * (size // len(line))
        response = self.http.post(
            f"{API}/projects/{PROJECT}/artifacts/files", files={"file": (f"{self.name}.md", data, "text/markdown")}
        )
        if self._ok(response):
            body = response.json()
            assert body["sha256"] == hashlib.sha256(data).hexdigest()
            with self.ledger.lock:
                self.ledger.artifacts[body["id"]] = (body["sha256"], len(data))
                self.ledger.fresh_uploads[body["id"]] = body["sha256"]
                self.ledger.count()

    def metadata(self) -> None:
        name = f"{self.name}-{self.random.randrange(10**9)}.png"
        response = self.http.post(f"{API}/projects/{PROJECT}/artifacts", json={"name": name, "path": f"art/{name}"})
        if self._ok(response):
            with self.ledger.lock:
                self.ledger.metadata[response.json()["id"]] = name
                self.ledger.count()

    def project(self) -> None:
        slug = f"{self.name}-{self.random.randrange(10**9)}"
        response = self.http.post(f"{API}/projects", json={"id": slug, "name": slug})
        if self._ok(response):
            with self.ledger.lock:
                self.ledger.projects.add(slug)
                self.ledger.count()


# --- checks ---------------------------------------------------------------------------------------------


def integrity(database_url: str) -> str:
    """SQLite's own verdict on the file as the crash left it ("ok"), or "n/a" on PostgreSQL."""
    if not database_url.startswith("sqlite"):
        return "n/a"
    path = database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()
    return "; ".join(str(row[0]) for row in rows)


@dataclass
class Store:
    """What is in the artifact store: temp files (with content or stale, and young empty ones) and orphan blobs."""

    temp: int
    young_empty_temp: int
    blobs: int
    orphans: int


def inspect_store(data_dir: Path, database_url: str, *, swept_at: float | None = None) -> Store:
    """The store now; `swept_at` (when the restart's sweep ran) decides which empty temp files were in their grace."""
    root = data_dir / "artifacts"
    temp = young = 0
    now = swept_at or time.time()
    for path in (root / "tmp").glob("ingest-*.part") if (root / "tmp").is_dir() else []:
        with contextlib.suppress(FileNotFoundError):
            info = path.stat()
            if info.st_size == 0 and now - info.st_mtime < TEMP_GRACE_S:
                young += 1
            else:
                temp += 1
    on_disk = {p.name for p in (root / "sha256").glob("*/*/*")} if (root / "sha256").is_dir() else set()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            referenced = {
                row[0] for row in connection.execute(text("SELECT sha256 FROM artifacts WHERE sha256 IS NOT NULL"))
            }
    finally:
        engine.dispose()
    return Store(temp=temp, young_empty_temp=young, blobs=len(on_disk), orphans=len(on_disk - referenced))


def verify(url: str, ledger: Ledger, data_dir: Path) -> list[str]:
    """Every acknowledged write read back; returns what is missing or wrong."""
    missing: list[str] = []
    blob_root = data_dir / "artifacts" / "sha256"
    with httpx2.Client(base_url=url, timeout=60) as http:
        tasks = {}
        cursor = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = http.get(f"{API}/projects/{PROJECT}/tasks", params=params).json()
            tasks.update({t["id"]: t for t in page["items"]})
            cursor = page.get("next_cursor")
            if not cursor:
                break
        for task_id, title in ledger.tasks.items():
            task = tasks.get(task_id)
            if task is None or task["title"] != title:
                missing.append(f"task {task_id} ({title!r}): {'absent' if task is None else task['title']!r}")
            elif task.get("priority") not in ledger.priorities[task_id]:
                missing.append(f"task {task_id}: priority {task.get('priority')} not in {ledger.priorities[task_id]}")
        notes = http.get(f"{API}/projects/{PROJECT}/context").json()["content"].get("notes", {})
        missing += [f"context notes.{k}" for k, v in ledger.context.items() if notes.get(k) != v]
        artifacts = {}
        cursor = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = http.get(f"{API}/projects/{PROJECT}/artifacts", params=params).json()
            artifacts.update({a["id"]: a for a in page["items"]})
            cursor = page.get("next_cursor")
            if not cursor:
                break
        for artifact_id, (sha256, size) in ledger.artifacts.items():
            artifact = artifacts.get(artifact_id)
            blob = blob_root / sha256[:2] / sha256[2:4] / sha256
            if artifact is None or artifact["sha256"] != sha256:
                missing.append(f"artifact {artifact_id}: {'absent' if artifact is None else artifact['sha256']}")
            elif not blob.is_file() or blob.stat().st_size != size:
                missing.append(f"artifact {artifact_id}: its blob {sha256[:12]}… is not on disk whole")
        for artifact_id, sha256 in ledger.fresh_uploads.items():
            content = http.get(f"{API}/projects/{PROJECT}/artifacts/{artifact_id}/content")
            if content.status_code != 200 or hashlib.sha256(content.content).hexdigest() != sha256:
                missing.append(f"artifact {artifact_id}: content answers {content.status_code}, not its bytes")
        missing += [
            f"metadata artifact {i} ({name})"
            for i, name in ledger.metadata.items()
            if artifacts.get(i, {}).get("name") != name
        ]
        for slug in ledger.projects:
            if http.get(f"{API}/projects/{slug}").status_code != 200:
                missing.append(f"project {slug}")
    return missing


# --- the loop -------------------------------------------------------------------------------------------


def start(workdir: Path, database_url: str) -> tuple[Server, float]:
    started = time.perf_counter()
    server = Server(workdir, database_url, GATEWAY_JOBS_ENABLED="false")
    return server, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=10, help="kill -9 / restart cycles (default 10)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent writers (default 4)")
    parser.add_argument("--database-url", help="PostgreSQL server URL (a scratch database is made); default SQLite")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--time-limit", type=float, default=600, help="stop starting cycles after this many s")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    rng = random.Random(seed)
    began = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="gw-crash-") as tmp, database(args.database_url, Path(tmp)) as url:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        migrate(url)
        print("bench_crash_loop: kill -9 during mixed writes, restart, check")
        print(f"machine:  {machine()}")
        print(f"database: {database_banner(url)}")
        print(f"load:     {load()}")
        print(f"run:      {args.cycles} cycles, {args.clients} writers, seed {seed}")
        server, first_start = start(workdir, url)
        httpx2.post(f"{server.url}{API}/projects", json={"id": PROJECT, "name": "Crash loop"}).raise_for_status()
        ledger = Ledger()
        restarts: list[float] = []
        failures: list[str] = []
        totals = {"temp_left": 0, "orphans_left": 0, "temp_after": 0, "orphans_after": 0}
        print(
            f"{'cycle':>5} {'acked':>6} {'cut':>4} {'run s':>5} | crash left: {'temp':>4} {'orphan':>6} | "
            f"{'integrity':>9} | restart s | after restart: {'temp':>4} {'orphan':>6} {'young':>5} | missing"
        )
        cycles_done = 0
        for cycle in range(1, args.cycles + 1):
            if time.monotonic() - began > args.time_limit:
                print(f"time limit of {args.time_limit:.0f} s reached: stopping after {cycles_done} cycles")
                break
            stop = threading.Event()
            acked_before, cut_before = ledger.acknowledged, ledger.cut
            ledger.fresh_uploads.clear()
            writers = [Writer(server.url, ledger, stop, seed * 100 + cycle * 10 + i) for i in range(args.clients)]
            for writer in writers:
                writer.start()
            run_for = rng.uniform(0.3, 2.5)
            time.sleep(run_for)
            os.kill(server.pid, signal.SIGKILL)
            server.process.wait()
            server.log.close()
            stop.set()
            for writer in writers:
                writer.join(60)
            verdict = integrity(url)
            left = inspect_store(data_dir, url)
            restarted_at = time.time()
            server, restart = start(workdir, url)
            restarts.append(restart)
            missing = verify(server.url, ledger, data_dir)
            after = inspect_store(data_dir, url, swept_at=restarted_at)
            cycles_done = cycle
            totals["temp_left"] += left.temp + left.young_empty_temp
            totals["orphans_left"] += left.orphans
            totals["temp_after"] += after.temp
            totals["orphans_after"] += after.orphans
            print(
                f"{cycle:>5} {ledger.acknowledged - acked_before:>6} {ledger.cut - cut_before:>4} {run_for:>5.1f} | "
                f"{'':>11} {left.temp + left.young_empty_temp:>4} {left.orphans:>6} | {verdict[:9]:>9} | "
                f"{restart:>9.2f} | {'':>14} {after.temp:>4} {after.orphans:>6} {after.young_empty_temp:>5} | "
                f"{len(missing)}"
            )
            if any(status[-3:].startswith("5") for status in ledger.refused):
                failures.append(f"cycle {cycle}: 5xx answers so far: {dict(ledger.refused)}")
            if verdict not in {"ok", "n/a"}:
                failures.append(f"cycle {cycle}: integrity_check says {verdict}")
            if after.temp or after.orphans:
                failures.append(f"cycle {cycle}: {after.temp} temp files and {after.orphans} orphan blobs survived")
            failures += [f"cycle {cycle}: lost {m}" for m in missing]
        server.stop()

    print()
    print(
        f"acknowledged writes: {ledger.acknowledged} over {cycles_done} cycles ({len(ledger.tasks)} tasks, "
        f"{len(ledger.context)} context keys, {len(ledger.artifacts)} uploads, {len(ledger.metadata)} metadata, "
        f"{len(ledger.projects)} projects); requests cut by a kill: {ledger.cut}; "
        f"refused answers: {dict(ledger.refused) or 'none'}"
    )
    print(
        f"crash leftovers found before restarts: {totals['temp_left']} temp files, {totals['orphans_left']} orphan "
        f"blobs; after restarts: {totals['temp_after']} temp files, {totals['orphans_after']} orphan blobs"
    )
    if restarts:
        median = statistics.median(restarts)
        print(
            f"restart to healthy: median {median:.2f} s, max {max(restarts):.2f} s; first (clean) start "
            f"{first_start:.2f} s (floor, same run); ratio {median / first_start:.2f}"
        )
    print(f"elapsed: {time.monotonic() - began:.0f} s")
    if failures:
        print(f"FAILED ({len(failures)}):")
        for failure in failures[:50]:
            print(f"  {failure}")
        return 1
    print("OK: every acknowledged write survived, integrity ok, no leftover survived a restart")
    return 0


if __name__ == "__main__":
    sys.exit(main())
