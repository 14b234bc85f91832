"""Hot paths against their floors, in one run on this machine: each figure beside what the framework or the
database does by itself, as a ratio, and how the cost grows with the plan's size.

Real processes on loopback: `python -m gateway serve` (uvicorn, 1 worker) with its database in a temp dir, and a
load generator in a separate process (httpx2's AsyncClient, N connections), so that client and server do not
share an interpreter. The server's CPU time per request comes from /proc.

- briefing   GET …/tasks/{id}/briefing on a 500-task plan, N connections for a fixed time, against the floor: a
             bare FastAPI app (bench/floors.py) returning a same-size JSON from memory; then CPU per request at
             100 and 2,000 tasks (flat is the goal)
- transitions  1 / 4 / 8 agents, each looping claim-next, start, complete over HTTP until the plan is done, against
             the floor: raw sqlite3 (WAL, synchronous=NORMAL) or psycopg commits of one-row UPDATEs from as many
             threads; checks that every task was completed exactly once
- growth     one agent's claim / start / complete latency on plans of 100, 500 and 2,000 tasks
- plans      a 1,000-task plan over HTTP: propose (a whole-plan user edit), accept, diff, read; against the same
             work in plain SQL + JSON (sqlite3 or psycopg); then at 2,000 tasks for the growth
- startup    `gateway serve` to the first 200 on /health against a bare app; `gateway mcp` to initialized against
             a bare MCP server; `gateway version` against `python -c pass`

Every measurement is bounded (a count or a few seconds); medians of several runs.

    .venv/bin/python bench/bench_hot_paths.py [--quick] [--only briefing,transitions,growth,plans,startup]
    .venv/bin/python bench/bench_hot_paths.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2
from bench_tasks import (
    API,
    Server,
    big_plan,
    check,
    cpu_seconds,
    database,
    database_banner,
    free_port,
    load,
    machine,
    migrate,
    project_with_plan,
)
from common import growth

HERE = Path(__file__).resolve().parent
SUMMARY: list[tuple[str, str, str, str]] = []  # (path, gateway, floor, ratio) for the closing table


def note(path: str, gateway: str, floor: str, ratio: str) -> None:
    SUMMARY.append((path, gateway, floor, ratio))


# --- The load generator (runs as a separate process: `bench_hot_paths.py load …`) -------------------------------


async def _get_loop(base: str, paths: list[str], connections: int, seconds: float) -> dict:
    limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await asyncio.gather(*(client.get("/health") for _ in range(connections)))  # open the connections
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            nonlocal errors
            n = offset
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await client.get(paths[n % len(paths)])
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200
                n += connections

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        wall = time.perf_counter() - started
    return {"requests": len(latencies), "wall": wall, "errors": errors, "median": statistics.median(latencies)}


async def _agents_loop(base: str, project_id: str, agents: int) -> dict:
    done: list[int] = []
    errors: list[str] = []

    async def agent(name: str) -> None:
        async with httpx2.AsyncClient(base_url=f"{base}{API}/projects/{project_id}/tasks", timeout=60) as client:
            while True:
                claimed = await client.post("/next/claim", json={"agent_id": name, "lease_seconds": 600})
                if claimed.status_code == 204:
                    return
                if claimed.status_code != 200:
                    errors.append(f"claim {claimed.status_code} {claimed.text[:200]}")
                    return
                task_id = claimed.json()["id"]
                started = await client.post(f"/{task_id}/start", json={"agent_id": name})
                completed = await client.post(f"/{task_id}/complete", json={"agent_id": name, "summary": "Done."})
                if started.status_code != 200 or completed.status_code != 200:
                    errors.append(f"start {started.status_code} / complete {completed.status_code} {completed.text}")
                    return
                done.append(task_id)

    started = time.perf_counter()
    await asyncio.gather(*(agent(f"agent-{i}") for i in range(agents)))
    return {"done": done, "wall": time.perf_counter() - started, "errors": errors}


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("get", "agents"))
    parser.add_argument("--base", required=True)
    parser.add_argument("--paths", default="")
    parser.add_argument("--project", default="")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.mode == "get":
        result = asyncio.run(_get_loop(args.base, args.paths.split(","), args.connections, args.seconds))
    else:
        result = asyncio.run(_agents_loop(args.base, args.project, args.connections))
    print(json.dumps(result))


def run_load(*args: str, pid: int) -> tuple[dict, float]:
    """Run the load generator in its own process; its result and the server's CPU seconds meanwhile."""
    before = cpu_seconds(pid)
    output = subprocess.run(
        [sys.executable, __file__, "load", *args], check=True, capture_output=True, text=True, timeout=600
    ).stdout
    return json.loads(output), cpu_seconds(pid) - before


class FloorApp:
    """bench/floors.py http: a bare FastAPI app under uvicorn, serving `doc` at /doc."""

    def __init__(self, workdir: Path, doc: Any = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, str(HERE / "floors.py"), "http", "--port", str(self.port)]
        if doc is not None:
            path = workdir / "floor-doc.json"
            path.write_text(json.dumps(doc))
            command += ["--json", str(path)]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ready_after = wait_health(self.url, self.process, self.started)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def wait_health(url: str, process: subprocess.Popen, started: float) -> float:
    """Seconds from `started` until GET /health answers 200 (polled every 5 ms)."""
    deadline = started + 60
    with httpx2.Client(timeout=1) as client:
        while True:
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return time.perf_counter() - started
            except httpx2.HTTPError:
                pass
            if time.perf_counter() > deadline or process.poll() is not None:
                raise RuntimeError(f"{url} did not start")
            time.sleep(0.005)


# --- Briefing ------------------------------------------------------------------------------------------------


def briefing_rate(server: Server, project_id: str, plan: dict, connections: int, seconds: float) -> dict:
    ids = [task["id"] for task in plan["tasks"]][:64]
    paths = ",".join(f"{API}/projects/{project_id}/tasks/{task_id}/briefing" for task_id in ids)
    result, cpu = run_load(
        "get", "--base", server.url, "--paths", paths, "--connections", str(connections), "--seconds", str(seconds),
        pid=server.pid,
    )  # fmt: skip
    assert result["errors"] == 0, result
    return {"rate": result["requests"] / result["wall"], "cpu_ms": cpu / result["requests"] * 1000, **result}


def bench_briefing(server: Server, workdir: Path, args: argparse.Namespace) -> None:
    print(f"\nbriefing: GET …/tasks/{{id}}/briefing, {args.connections} connections, {args.seconds:g} s per run, "
          f"median of {args.runs} runs; floor: a bare FastAPI app returning a same-size JSON from memory")  # fmt: skip
    with httpx2.Client(base_url=server.url, timeout=120) as client:
        project_id, plan = project_with_plan(client, 500)
        sample = check(client.get(f"{API}/projects/{project_id}/tasks/{plan['tasks'][0]['id']}/briefing"), 200)
    floor = FloorApp(workdir, sample.json())
    try:
        rows = {"gateway": [], "floor": []}
        for _ in range(args.runs):
            rows["gateway"].append(briefing_rate(server, project_id, plan, args.connections, args.seconds))
            result, cpu = run_load(
                "get", "--base", floor.url, "--paths", "/doc", "--connections", str(args.connections),
                "--seconds", str(args.seconds), pid=floor.pid,
            )  # fmt: skip
            rows["floor"].append(
                {"rate": result["requests"] / result["wall"], "cpu_ms": cpu / result["requests"] * 1000}
            )
    finally:
        floor.stop()
    gw_rate = statistics.median(r["rate"] for r in rows["gateway"])
    gw_cpu = statistics.median(r["cpu_ms"] for r in rows["gateway"])
    fl_rate = statistics.median(r["rate"] for r in rows["floor"])
    fl_cpu = statistics.median(r["cpu_ms"] for r in rows["floor"])
    print(f"  response {len(sample.content)} bytes")
    print(f"  gateway {gw_rate:8.0f} req/s  {gw_cpu:6.2f} ms CPU/request")
    print(f"  floor   {fl_rate:8.0f} req/s  {fl_cpu:6.2f} ms CPU/request")
    print(f"  ratio   {gw_rate / fl_rate:8.2f}x of the floor's rate; {gw_cpu / fl_cpu:.1f}x its CPU per request")
    note(
        f"briefing GET, 500 tasks, {args.connections} conn",
        f"{gw_rate:.0f} req/s, {gw_cpu:.2f} ms CPU",
        f"{fl_rate:.0f} req/s, {fl_cpu:.2f} ms CPU",
        f"{gw_rate / fl_rate:.2f}x rate, {gw_cpu / fl_cpu:.1f}x CPU",
    )
    sizes, cpus = [], []
    for size in args.sizes:
        if size == 500:
            cpu = gw_cpu
        else:
            with httpx2.Client(base_url=server.url, timeout=120) as client:
                pid_, plan_ = project_with_plan(client, size)
            cpu = statistics.median(
                briefing_rate(server, pid_, plan_, 4, min(args.seconds, 2.0))["cpu_ms"] for _ in range(args.runs)
            )
        sizes.append(size)
        cpus.append(cpu)
        print(f"  {size:>5} tasks: {cpu:6.2f} ms CPU/request")
    print(f"  growth of CPU/request with the plan's size: {growth(sizes, cpus)}")


# --- Transitions ---------------------------------------------------------------------------------------------


def floor_commits(url: str, threads: int, seconds: float) -> float:
    """One-row UPDATE + COMMIT per iteration, from `threads` threads (one connection each): commits per second."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    counts = [0] * threads
    stop = time.perf_counter() + seconds
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        setup = sqlite3.connect(path)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, status TEXT, updated_at TEXT)")
        setup.executemany("INSERT OR REPLACE INTO floor VALUES (?, 'pending', '')", [(i,) for i in range(threads)])
        setup.commit()
        setup.close()

        def connect() -> Any:
            connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA synchronous=NORMAL")
            return connection

        def one(connection: Any, i: int, n: int) -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE floor SET status = ?, updated_at = ? WHERE id = ?", (f"s{n}", str(n), i))
            connection.execute("COMMIT")
    else:
        import psycopg

        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as setup:
            setup.execute("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, status TEXT, updated_at TEXT)")
            for i in range(threads):
                setup.execute("INSERT INTO floor VALUES (%s, 'pending', '') ON CONFLICT (id) DO NOTHING", (i,))

        def connect() -> Any:
            return psycopg.connect(dsn)

        def one(connection: Any, i: int, n: int) -> None:
            connection.execute("UPDATE floor SET status = %s, updated_at = %s WHERE id = %s", (f"s{n}", str(n), i))
            connection.commit()

    def worker(i: int) -> None:
        connection = connect()
        n = 0
        while time.perf_counter() < stop:
            one(connection, i, n)
            n += 1
        counts[i] = n
        connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - started)


def bench_transitions(server: Server, url: str, args: argparse.Namespace) -> None:
    print(f"\ntransitions: N agents (one connection each, in a separate process) loop claim-next, start, complete "
          f"on a {args.transition_tasks}-task plan until it is done; median of {args.runs} runs")  # fmt: skip
    print("  floor: one-row UPDATE + COMMIT loops from as many threads, raw driver, same database server")
    print(f"  {'agents':>6} {'transitions/s':>14} {'ms CPU each':>12} {'floor commits/s':>16} {'ratio':>8}")
    for agents in args.agents:
        rates, cpus = [], []
        for _ in range(args.runs):
            with httpx2.Client(base_url=server.url, timeout=120) as client:
                project_id, plan = project_with_plan(client, args.transition_tasks)
            result, cpu = run_load(
                "agents", "--base", server.url, "--project", project_id, "--connections", str(agents), pid=server.pid
            )
            assert not result["errors"], result["errors"][:3]
            done = result["done"]
            # The invariant under concurrency: every task completed, none twice.
            assert sorted(done) == sorted(t["id"] for t in plan["tasks"]), "a task was lost or completed twice"
            transitions = 3 * len(done)
            rates.append(transitions / result["wall"])
            cpus.append(cpu / transitions * 1000)
        floor = statistics.median(floor_commits(url, agents, 1.0) for _ in range(args.runs))
        rate, cpu = statistics.median(rates), statistics.median(cpus)
        print(f"  {agents:>6} {rate:>14.0f} {cpu:>12.2f} {floor:>16.0f} {floor / rate:>7.0f}x")
        note(f"transitions, {agents} agent(s)", f"{rate:.0f}/s, {cpu:.2f} ms CPU", f"{floor:.0f} commits/s",
             f"{floor / rate:.0f}x")  # fmt: skip


def bench_growth(server: Server, args: argparse.Namespace) -> None:
    print("\ngrowth: one agent claims, starts and completes the first 30 tasks of a fresh plan; median latency (ms)")
    print(f"  {'tasks':>6} {'claim':>8} {'start':>8} {'complete':>9} {'server ms CPU per transition':>30}")
    medians: dict[str, list[float]] = {"claim": [], "start": [], "complete": [], "cpu": []}
    with httpx2.Client(base_url=server.url, timeout=120) as client:
        for size in args.sizes:
            project_id, _ = project_with_plan(client, size)
            base = f"{API}/projects/{project_id}/tasks"
            times: dict[str, list[float]] = {"claim": [], "start": [], "complete": []}
            cpu_before = cpu_seconds(server.pid)
            for _ in range(30):
                t0 = time.perf_counter()
                task_id = check(client.post(f"{base}/next/claim", json={"agent_id": "solo"}), 200).json()["id"]
                t1 = time.perf_counter()
                check(client.post(f"{base}/{task_id}/start", json={"agent_id": "solo"}), 200)
                t2 = time.perf_counter()
                check(client.post(f"{base}/{task_id}/complete", json={"agent_id": "solo", "summary": "Done."}), 200)
                t3 = time.perf_counter()
                times["claim"].append(t1 - t0)
                times["start"].append(t2 - t1)
                times["complete"].append(t3 - t2)
            row = {k: statistics.median(v) * 1000 for k, v in times.items()}
            row["cpu"] = (cpu_seconds(server.pid) - cpu_before) / 90 * 1000  # less noisy than latency on a busy box
            for k, v in row.items():
                medians[k].append(v)
            print(f"  {size:>6} {row['claim']:>8.2f} {row['start']:>8.2f} {row['complete']:>9.2f} {row['cpu']:>30.2f}")
    for k, v in medians.items():
        print(f"  {k}: {growth(args.sizes, v)}")
    note(
        f"complete, {args.sizes[0]} -> {args.sizes[-1]} tasks",
        " -> ".join(f"{v:.1f}" for v in medians["complete"]) + " ms",
        "flat",
        f"x{medians['complete'][-1] / medians['complete'][0]:.2f}",
    )
    note(
        f"CPU/transition, {args.sizes[0]} -> {args.sizes[-1]} tasks",
        " -> ".join(f"{v:.1f}" for v in medians["cpu"]) + " ms",
        "flat",
        f"x{medians['cpu'][-1] / medians['cpu'][0]:.2f}",
    )


# --- Plans ---------------------------------------------------------------------------------------------------


def plan_ops_http(client: httpx2.Client, size: int) -> dict[str, float]:
    """Seconds of propose (a whole-plan edit), accept, diff (against the previous version) and read, over HTTP."""
    project_id = f"plans-{uuid.uuid4().hex[:8]}"
    check(client.post(f"{API}/projects", json={"id": project_id, "name": "Plans", "brief": {"genre": "puzzle"}}), 201)
    base = f"{API}/projects/{project_id}/plans"
    first = check(client.post(base, json={}), 201).json()["version"]
    body = {"plan": big_plan(size), "note": "bench"}
    t0 = time.perf_counter()
    version = check(client.post(f"{base}/{first}/edits", json=body), 201).json()["version"]
    t1 = time.perf_counter()
    check(client.post(f"{base}/{version}/accept"), 200)
    t2 = time.perf_counter()
    check(client.get(f"{base}/diff", params={"from": first, "to": version}), 200)
    t3 = time.perf_counter()
    check(client.get(f"{base}/{version}"), 200)
    t4 = time.perf_counter()
    return {"propose": t1 - t0, "accept": t2 - t1, "diff": t3 - t2, "read": t4 - t3}


FLOOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS fplans (id INTEGER PRIMARY KEY, project TEXT, version INTEGER, status TEXT, doc TEXT);
CREATE TABLE IF NOT EXISTS ftasks (id INTEGER PRIMARY KEY, plan_id INTEGER, code TEXT, idx INTEGER, title TEXT,
    description TEXT, status TEXT, priority INTEGER, acceptance TEXT, deliverables TEXT, estimates TEXT,
    dependencies TEXT, tools TEXT, discipline TEXT);
CREATE INDEX IF NOT EXISTS ftasks_plan ON ftasks (plan_id, status);
CREATE TABLE IF NOT EXISTS fprojects (id TEXT PRIMARY KEY, active_plan_id INTEGER, current_task_id INTEGER);
"""
COLUMNS = ("code", "idx", "title", "description", "status", "priority", "acceptance_criteria", "deliverables",
           "estimates", "dependencies", "mcp_tools", "discipline")  # fmt: skip
FLOOR_NAMES = [{"acceptance_criteria": "acceptance", "mcp_tools": "tools"}.get(c, c) for c in COLUMNS]


def plan_ops_floor(url: str, size: int, previous: int) -> dict[str, float]:
    """The same four operations in plain SQL + JSON with the raw driver: parse the body and insert the rows in one
    executemany; flip the statuses, find the first ready task (every row's status and dependencies) and point the
    project at it; load both versions and compare by code; load the plan's rows and serialise them."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    body = json.dumps({"plan": big_plan(size), "note": "bench"})
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(FLOOR_SCHEMA)
        mark = "?"
    else:
        import psycopg

        connection = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        for statement in FLOOR_SCHEMA.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY").split(";"):
            if statement.strip():
                connection.execute(
                    statement.replace("fprojects (id TEXT PRIMARY KEY", "fprojects (id TEXT PRIMARY KEY")
                )
        connection.commit()
        mark = "%s"
    project = uuid.uuid4().hex[:8]

    def q(sql: str) -> str:
        return sql.replace("?", mark)

    def insert_version(doc: dict, version: int) -> int:
        cursor = connection.cursor()
        cursor.execute(
            q("INSERT INTO fplans (project, version, status, doc) VALUES (?, ?, 'proposed', ?) RETURNING id"),
            (project, version, json.dumps({k: v for k, v in doc.items() if k != "tasks"})),
        )
        plan_id = cursor.fetchone()[0]
        rows = [
            (
                plan_id,
                *(json.dumps(t[c]) if isinstance(t.get(c), (list, dict)) else t.get(c, "pending") for c in COLUMNS),
            )
            for t in doc["tasks"]
        ]
        names = ", ".join(FLOOR_NAMES)
        cursor.executemany(
            q(f"INSERT INTO ftasks (plan_id, {names}) VALUES ({', '.join(['?'] * (len(COLUMNS) + 1))})"), rows
        )
        connection.commit()
        return plan_id

    def load_rows(plan_id: int) -> list[dict]:
        cursor = connection.cursor()
        cursor.execute(q("SELECT * FROM ftasks WHERE plan_id = ? ORDER BY idx"), (plan_id,))
        names = [d[0] for d in cursor.description]
        out = []
        for row in cursor.fetchall():
            item = dict(zip(names, row, strict=True))
            for key in ("acceptance", "deliverables", "estimates", "dependencies", "tools"):
                item[key] = json.loads(item[key]) if item[key] else None
            out.append(item)
        return out

    old_id = insert_version(big_plan(previous), 1)
    t0 = time.perf_counter()
    new_id = insert_version(json.loads(body)["plan"], 2)
    t1 = time.perf_counter()
    connection.execute(
        q("UPDATE fplans SET status = 'superseded' WHERE project = ? AND status = 'accepted'"), (project,)
    )
    connection.execute(q("UPDATE fplans SET status = 'accepted' WHERE id = ?"), (new_id,))
    cursor = connection.cursor()  # the first ready task: every row's status and dependencies
    cursor.execute(q("SELECT id, code, status, dependencies FROM ftasks WHERE plan_id = ? ORDER BY idx"), (new_id,))
    rows = cursor.fetchall()
    statuses = {code: status for _, code, status, _ in rows}
    ready = [
        i
        for i, _, status, deps in rows
        if status == "pending" and all(statuses.get(d) == "done" for d in json.loads(deps or "[]"))
    ]
    json.dumps({"tasks": len(rows), "ready": ready[:5]})
    connection.execute(q("DELETE FROM fprojects WHERE id = ?"), (project,))
    connection.execute(q("INSERT INTO fprojects VALUES (?, ?, ?)"), (project, new_id, ready[0] if ready else None))
    connection.commit()
    t2 = time.perf_counter()
    old = {r["code"]: r for r in load_rows(old_id)}
    new = {r["code"]: r for r in load_rows(new_id)}
    skip = ("id", "plan_id")
    changed = [
        {"code": code, "fields": {k: [old[code][k], v] for k, v in row.items() if k not in skip and old[code][k] != v}}
        for code, row in new.items()
        if code in old
    ]
    json.dumps({"added": [c for c in new if c not in old], "removed": [c for c in old if c not in new],
                "changed": [c for c in changed if c["fields"]]})  # fmt: skip
    t3 = time.perf_counter()
    json.dumps({"version": 2, "tasks": load_rows(new_id)})
    t4 = time.perf_counter()
    connection.close()
    return {"propose": t1 - t0, "accept": t2 - t1, "diff": t3 - t2, "read": t4 - t3}


def bench_plans(server: Server, url: str, args: argparse.Namespace) -> None:
    print(f"\nplans: over HTTP, propose (a whole-plan user edit), accept, diff (against the proposal it edits), read;"
          f" median of {args.runs} runs; floor: the same work in plain SQL + JSON with the raw driver")  # fmt: skip
    ops = ("propose", "accept", "diff", "read")
    per_size: dict[str, list[float]] = {op: [] for op in ops}
    for size in args.plan_sizes:
        with httpx2.Client(base_url=server.url, timeout=300) as client:
            runs = [plan_ops_http(client, size) for _ in range(args.runs)]
        floors = [plan_ops_floor(url, size, 40) for _ in range(args.runs)]
        print(f"  {size} tasks: {'gateway ms':>11} {'floor ms':>9} {'ratio':>7}")
        for op in ops:
            gw = statistics.median(r[op] for r in runs) * 1000
            fl = statistics.median(r[op] for r in floors) * 1000
            per_size[op].append(gw)
            print(f"  {op:>11} {gw:>11.1f} {fl:>9.1f} {gw / fl:>6.1f}x")
            if size == 1000:
                note(f"plan {op}, 1,000 tasks", f"{gw:.0f} ms", f"{fl:.0f} ms", f"{gw / fl:.1f}x")
    if len(args.plan_sizes) > 1:
        for op in ops:
            print(f"  {op}: {growth(args.plan_sizes, per_size[op])}")


# --- Start-up ------------------------------------------------------------------------------------------------


def serve_start(workdir: Path, url: str) -> float:
    port = free_port()
    env = {**os.environ, "GATEWAY_DATABASE_URL": url, "GATEWAY_DATA_DIR": str(workdir / "data"),
           "GATEWAY_LOG_LEVEL": "WARNING"}  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        return wait_health(f"http://127.0.0.1:{port}", process, started)
    finally:
        process.terminate()
        process.wait(20)


async def mcp_initialized(command: list[str], env: dict[str, str], cwd: Path) -> float:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(cwd))
    started = time.perf_counter()
    with open(os.devnull, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)):
            return time.perf_counter() - started


def wall(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - started


def bench_startup(workdir: Path, url: str, args: argparse.Namespace) -> None:
    runs = max(args.runs, 3)
    print(f"\nstart-up: from spawning the process, median of {runs} runs")
    serve = statistics.median(serve_start(workdir, url) for _ in range(runs))
    bare = []
    for _ in range(runs):
        floor = FloorApp(workdir)
        bare.append(floor.ready_after)
        floor.stop()
    bare_s = statistics.median(bare)
    env = {"GATEWAY_DATABASE_URL": url, "GATEWAY_DATA_DIR": str(workdir / "data"), "GATEWAY_LOG_LEVEL": "WARNING",
           "PATH": os.environ.get("PATH", "")}  # fmt: skip
    mcp = statistics.median(
        asyncio.run(mcp_initialized([sys.executable, "-m", "gateway", "mcp"], env, workdir)) for _ in range(runs)
    )
    bare_mcp = statistics.median(
        asyncio.run(mcp_initialized([sys.executable, str(HERE / "floors.py"), "mcp"], env, workdir))
        for _ in range(runs)
    )
    version = statistics.median(wall([sys.executable, "-m", "gateway", "version"], workdir) for _ in range(runs))
    python = statistics.median(wall([sys.executable, "-c", "pass"], workdir) for _ in range(runs))
    print(f"  {'':<36} {'gateway s':>10} {'floor s':>8} {'ratio':>7}")
    for label, gw, fl, floor_name in (
        ("serve -> first 200 on /health", serve, bare_s, "bare FastAPI app under uvicorn"),
        ("mcp (stdio) -> initialized", mcp, bare_mcp, "bare MCPServer (SDK)"),
        ("gateway version", version, python, "python -c pass"),
    ):
        print(f"  {label:<36} {gw:>10.3f} {fl:>8.3f} {gw / fl:>6.2f}x  (floor: {floor_name})")
        note(label, f"{gw:.2f} s", f"{fl:.2f} s", f"{gw / fl:.2f}x")


# --- Main ----------------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL server (a scratch database is made)")
    parser.add_argument("--only", default="briefing,transitions,growth,plans,startup")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one briefing load run")
    parser.add_argument("--agents", default="1,4,8")
    parser.add_argument("--transition-tasks", type=int, default=200)
    parser.add_argument("--sizes", default="100,500,2000", help="plan sizes for the growth of briefing and complete")
    parser.add_argument("--plan-sizes", default="1000,2000")
    parser.add_argument("--quick", action="store_true", help="1 run each, shorter loads, smaller plans")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.transition_tasks = 1, 2.0, 100
    args.agents = [int(n) for n in args.agents.split(",")]
    args.sizes = [int(n) for n in args.sizes.split(",")]
    args.plan_sizes = [int(n) for n in args.plan_sizes.split(",")]
    only = set(args.only.split(","))
    print(f"bench_hot_paths\nmachine: {machine()}\nload:    {load()} at the start")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gateway-hot-") as tmp, database(args.database_url, Path(tmp)) as url:
        workdir = Path(tmp)
        migrate(url)
        print(f"database: {database_banner(url)}; server: python -m gateway serve (uvicorn, 1 worker)")
        if only & {"briefing", "transitions", "growth", "plans"}:
            server = Server(workdir, url)
            try:
                if "briefing" in only:
                    bench_briefing(server, workdir, args)
                if "transitions" in only:
                    bench_transitions(server, url, args)
                if "growth" in only:
                    bench_growth(server, args)
                if "plans" in only:
                    bench_plans(server, url, args)
            finally:
                server.stop()
        if "startup" in only:
            bench_startup(workdir, url, args)
    print(f"\nsummary ({time.perf_counter() - began:.0f} s; load {load()} at the end)")
    print(f"  {'path':<38} {'gateway':<28} {'floor':<28} ratio")
    for path, gw, fl, ratio in SUMMARY:
        print(f"  {path:<38} {gw:<28} {fl:<28} {ratio}")


if __name__ == "__main__":
    main()
