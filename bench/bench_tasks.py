"""Task execution and artifact upload over real HTTP: upload throughput and server memory, claim-next throughput.

Starts the real app (`python -m gateway serve`, after `python -m gateway migrate`) on a loopback port in a
child process, with its database and data directory in a temp dir, and talks to it with httpx2:

- upload: multipart POST of 10, 50 and 200 MiB files of random bytes (`*.bin`, category asset: stored and
  recorded `invalid`, unsupported format) to `/api/v1/projects/{id}/artifacts/files`. The client streams the
  body from a generator, so it never holds a file. Reports MiB/s (median of runs), the server's CPU time, and
  the server's peak resident memory while a file streams in (VmHWM reset through /proc/<pid>/clear_refs before
  each upload, and VmRSS sampled every 10 ms as a cross-check);
- claim-next: a 500-task plan (no dependencies) submitted as a user edit and accepted, then 1, 2, 4 and 8
  threads (one httpx2 client each) claim `next` until the server answers 204. Checks that no task went to two
  claimers and none was lost; reports claims/s and median / p99 latency per concurrency level; and how one
  claim's cost grows with the plan's size.

SQLite by default; `--database-url postgresql+psycopg://…/postgres` runs on a fresh scratch database created
next to the one named (and dropped afterwards).

    .venv/bin/python bench/bench_tasks.py [--quick] [--only upload|claim] [--database-url URL]
"""

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
from common import machine

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
CHUNK = 256 * 1024
API = "/api/v1"


# --- The machine and the processes ---------------------------------------------------------------------------


def load() -> str:
    """The 1, 5 and 15 minute load averages: other work on this small machine skews every figure."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg()) + " (1, 5, 15 min)"
    except OSError:
        return "n/a"


def database_banner(url: str) -> str:
    """The database kind and server version."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                version = connection.execute(text("select sqlite_version()")).scalar()
                return f"SQLite {version} (file {engine.url.database})"
            version = connection.execute(text("show server_version")).scalar()
            return f"PostgreSQL {version} (database {engine.url.database} on {engine.url.host})"
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (KiB) of a process."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux: write 5 to clear_refs); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "gateway", "migrate", "--database-url", database_url],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


class Server:
    """One `gateway serve` process on a loopback port, its data under `workdir`."""

    def __init__(self, workdir: Path, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"gateway-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.env = {
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_DATA_DIR": str(workdir / "data"),
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_MAX_BODY_BYTES": str(8 * MiB),  # a 2000-task plan edit is about 1 MiB of JSON
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(self.port)],
            cwd=workdir,
            env={**os.environ, **self.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gateway on port {self.port} did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@contextlib.contextmanager
def database(admin_url: str | None, workdir: Path) -> Iterator[str]:
    """A database URL for one bench: a SQLite file in `workdir`, or a fresh PostgreSQL database (dropped after)."""
    if admin_url is None or admin_url.startswith("sqlite"):
        yield admin_url or f"sqlite:///{workdir / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"gw_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def check(response: httpx2.Response, *expected: int) -> httpx2.Response:
    if response.status_code not in expected:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response


# --- A project with a big accepted plan ----------------------------------------------------------------------


def big_plan(count: int) -> dict:
    """A plan draft of `count` independent tasks (no dependencies), priorities 1-5, one suggested tool."""
    tasks = [
        {
            "code": f"T-{n:03d}",
            "idx": n - 1,
            "title": f"Bench task {n}",
            "description": f"Task {n} of a {count}-task bench plan: build level piece {n} and wire it up.",
            "discipline": "programming",
            "acceptance_criteria": [f"Piece {n} loads without errors"],
            "deliverables": [],
            "estimates": {"story_points": 2, "time_hours": 3.0},
            "priority": 1 + n % 5,
            "dependencies": [],
            "mcp_tools": ["filesystem.write_file"],
        }
        for n in range(1, count + 1)
    ]
    return {
        "summary": f"Bench plan: {count} independent tasks.",
        "tasks": tasks,
        "template": "puzzle/phaser",
        "scope": "mvp",
        "highest_code": count,
    }


def project_with_plan(client: httpx2.Client, count: int) -> tuple[str, dict]:
    """A puzzle/phaser project whose accepted plan (a user edit of the proposal) has `count` tasks."""
    project_id = f"bench-{uuid.uuid4().hex[:10]}"
    brief = {"genre": "puzzle", "engine": "phaser"}
    check(client.post(f"{API}/projects", json={"id": project_id, "name": "Bench", "brief": brief}), 201)
    base = f"{API}/projects/{project_id}/plans"
    proposed = check(client.post(base, json={}), 201).json()
    edited = check(
        client.post(f"{base}/{proposed['version']}/edits", json={"plan": big_plan(count), "note": "bench"}), 201
    ).json()
    accepted = check(client.post(f"{base}/{edited['version']}/accept"), 200).json()
    assert accepted["task_count"] == count, accepted["task_count"]
    return project_id, accepted


# --- Upload -------------------------------------------------------------------------------------------------


def multipart_body(boundary: str, name: str, size: int, run: int) -> Iterator[bytes]:
    """A multipart/form-data body with one `file` part of `size` bytes, generated as it is sent."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = os.urandom(CHUNK)
    tag = uuid.uuid4().bytes + run.to_bytes(4, "big")  # unique per upload: nothing is deduplicated
    for index in range(size // CHUNK):
        yield tag + index.to_bytes(8, "big") + block[len(tag) + 8 :]
    yield f"\r\n--{boundary}--\r\n".encode()


def multipart_length(boundary: str, name: str, size: int) -> int:
    return sum(len(part) for part in multipart_body(boundary, name, 0, 0)) + size


class RssSampler:
    """Samples a process's VmRSS every 10 ms in a thread; `peak` is the highest seen (KiB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, proc_status(self.pid)["VmRSS"])
            time.sleep(0.01)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, proc_status(self.pid)["VmRSS"])


def upload_once(client: httpx2.Client, server: Server, project_id: str, size: int, run: int) -> dict:
    """One streamed upload: seconds, server CPU seconds, server RSS before / sampled peak / VmHWM (KiB)."""
    boundary = f"bench{uuid.uuid4().hex}"
    name = f"blob-{size // MiB}m-{run}.bin"
    url = f"{API}/projects/{project_id}/artifacts/files"
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(multipart_length(boundary, name, size)),
    }
    hwm_reset = reset_peak(server.pid)
    before = proc_status(server.pid)
    cpu_before = cpu_seconds(server.pid)
    with RssSampler(server.pid) as sampler:
        started = time.perf_counter()
        response = client.post(
            url,
            params={"category": "asset"},
            content=multipart_body(boundary, name, size, run),
            headers=headers,
        )
        elapsed = time.perf_counter() - started
    after = proc_status(server.pid)
    artifact = check(response, 201).json()
    assert artifact["size_bytes"] == size, artifact["size_bytes"]
    assert artifact["validation_status"] == "invalid", artifact["validation_status"]
    result = {
        "seconds": elapsed,
        "cpu": cpu_seconds(server.pid) - cpu_before,
        "rss_before": before["VmRSS"],
        "rss_peak": sampler.peak,
        "hwm": after["VmHWM"] if hwm_reset else None,
    }
    # Not timed: remove the artifact (and its blob) so the disk does not fill up over the runs.
    check(client.delete(f"{API}/projects/{project_id}/artifacts/{artifact['id']}"), 204)
    return result


def bench_upload(admin_url: str | None, sizes: list[int], runs: int) -> None:
    print(f"\nupload: multipart POST …/artifacts/files, body streamed from a generator ({CHUNK // 1024} KiB chunks),")
    print(f"        *.bin, category=asset (recorded invalid: unsupported format); median of {runs} runs")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp, database(admin_url, Path(tmp)) as url:
        migrate(url)
        server = Server(Path(tmp), url, GATEWAY_MAX_UPLOAD_BYTES=str(max(sizes) * MiB + MiB))
        try:
            print(f"database: {database_banner(url)}; blobs under {tmp}/data/artifacts")
            with httpx2.Client(base_url=server.url, timeout=600) as client:
                project = f"upload-{uuid.uuid4().hex[:8]}"
                check(client.post(f"{API}/projects", json={"id": project, "name": "Upload bench"}), 201)
                upload_once(client, server, project, MiB, 0)  # warm-up: imports, validators, the first blob dirs
                idle = proc_status(server.pid)["VmRSS"]
                print(f"server RSS after a 1 MiB warm-up upload: {idle / 1024:.1f} MiB")
                header = f"{'size':>8} {'MiB/s':>7} {'min s':>7} {'max s':>7} {'srv CPU s':>10} {'srv CPU/MiB':>12}"
                print(header + f" {'RSS before':>11} {'peak RSS (sampled)':>19} {'VmHWM':>10}")
                for size_mb in sizes:
                    results = [upload_once(client, server, project, size_mb * MiB, run) for run in range(runs)]
                    seconds = [r["seconds"] for r in results]
                    cpu = statistics.median(r["cpu"] for r in results)
                    worst = max(results, key=lambda r: r["rss_peak"])
                    hwm = max((r["hwm"] for r in results if r["hwm"] is not None), default=None)
                    print(
                        f"{size_mb:>4} MiB {size_mb / statistics.median(seconds):>7.0f} {min(seconds):>7.3f} "
                        f"{max(seconds):>7.3f} {cpu:>10.2f} {cpu / size_mb * 1000:>9.2f} ms "
                        f"{worst['rss_before'] / 1024:>7.1f} MiB {worst['rss_peak'] / 1024:>11.1f} MiB"
                        f" (+{(worst['rss_peak'] - worst['rss_before']) / 1024:.1f})"
                        + (f" {hwm / 1024:>6.1f} MiB" if hwm is not None else "        n/a")
                    )
        finally:
            server.stop()


# --- Claim next ---------------------------------------------------------------------------------------------


def claimer(base_url: str, project_id: str, agent: str, gate: threading.Barrier, out: dict) -> None:
    """Claim `next` until 204; records (task id, latency) pairs in `out[agent]`."""
    claims: list[tuple[int, float]] = []
    errors: list[str] = []
    with httpx2.Client(base_url=base_url, timeout=120) as client:
        url = f"{API}/projects/{project_id}/tasks/next/claim"
        body = {"agent_id": agent, "lease_seconds": 600}
        client.get("/health")  # open the connection before the clock starts
        gate.wait()
        while True:
            started = time.perf_counter()
            response = client.post(url, json=body)
            latency = time.perf_counter() - started
            if response.status_code == 204:
                break
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")
                if len(errors) > 20:
                    break
                continue
            claims.append((response.json()["id"], latency))
    out[agent] = {"claims": claims, "errors": errors, "finished": time.perf_counter()}


def claim_round(server: Server, count: int, threads: int) -> dict:
    """A fresh project with a `count`-task accepted plan, drained by `threads` concurrent claimers."""
    with httpx2.Client(base_url=server.url, timeout=120) as client:
        project_id, plan = project_with_plan(client, count)
    plan_task_ids = {task["id"] for task in plan["tasks"]}
    out: dict = {}
    gate = threading.Barrier(threads + 1)
    workers = [
        threading.Thread(target=claimer, args=(server.url, project_id, f"agent-{i}", gate, out)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    gate.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = max(result["finished"] for result in out.values()) - started
    claimed = [task_id for result in out.values() for task_id, _ in result["claims"]]
    latencies = [latency for result in out.values() for _, latency in result["claims"]]
    errors = [error for result in out.values() for error in result["errors"]]
    # The checks: no task handed out twice, none lost, and the server agrees on who holds each.
    assert not errors, errors[:5]
    assert len(claimed) == len(set(claimed)), f"{len(claimed) - len(set(claimed))} tasks claimed twice"
    assert set(claimed) == plan_task_ids, f"{len(plan_task_ids - set(claimed))} tasks never claimed"
    holders = {task_id: agent for agent, result in out.items() for task_id, _ in result["claims"]}
    with httpx2.Client(base_url=server.url, timeout=120) as client:
        cursor = None
        while True:
            params = {"plan_id": plan["id"], "limit": 200} | ({"cursor": cursor} if cursor else {})
            page = check(client.get(f"{API}/projects/{project_id}/tasks", params=params), 200).json()
            for task in page["items"]:
                assert task["claimed_by"] == holders[task["id"]], (task["id"], task["claimed_by"])
            cursor = page["next_cursor"]
            if not cursor:
                break
    per_agent = sorted(len(result["claims"]) for result in out.values())
    return {"wall": wall, "latencies": latencies, "per_agent": per_agent}


def bench_claim(
    admin_url: str | None, count: int, levels: list[int], runs: int, sizes: list[int], sweep_runs: int
) -> None:
    print(f"\nclaim-next: {count}-task accepted plan (no dependencies), N threads with one httpx2 client each,")
    print(f"            POST …/tasks/next/claim until 204; a fresh project per run; median of {runs} runs")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp, database(admin_url, Path(tmp)) as url:
        migrate(url)
        server = Server(Path(tmp), url)
        try:
            print(f"database: {database_banner(url)}")
            columns = f"{'claims/s':>9} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'wall s':>7}"
            print(f"{'claimers':>8} {columns}  claims per claimer")
            for threads in levels:
                rounds = [claim_round(server, count, threads) for _ in range(runs)]
                rate = statistics.median(count / r["wall"] for r in rounds)
                median = statistics.median(statistics.median(r["latencies"]) for r in rounds) * 1000
                tail = statistics.median(p99(r["latencies"]) for r in rounds) * 1000
                worst = statistics.median(max(r["latencies"]) for r in rounds) * 1000
                wall = statistics.median(r["wall"] for r in rounds)
                print(
                    f"{threads:>8} {rate:>9.0f} {median:>10.2f} {tail:>8.2f} {worst:>8.1f} {wall:>7.2f}  "
                    f"{rounds[len(rounds) // 2]['per_agent']}  (no task claimed twice, none lost)"
                )
            if sizes:
                print("\nclaim-next cost against plan size: 1 claimer, the first 100 claims of a fresh plan,")
                print(f"median of {sweep_runs} runs: how the cost of one claim grows with the size of the plan")
                print(f"{'tasks':>8} {'median ms':>10} {'p99 ms':>8}")
                for size in sizes:
                    medians, tails = [], []
                    for _ in range(sweep_runs):
                        latencies = first_claims(server, size, 100)
                        medians.append(statistics.median(latencies) * 1000)
                        tails.append(p99(latencies) * 1000)
                    print(f"{size:>8} {statistics.median(medians):>10.2f} {statistics.median(tails):>8.2f}")
        finally:
            server.stop()


def first_claims(server: Server, count: int, claims: int) -> list[float]:
    """Latencies of the first `claims` claim-next calls on a fresh `count`-task plan (one client)."""
    with httpx2.Client(base_url=server.url, timeout=120) as client:
        project_id, _ = project_with_plan(client, count)
        url = f"{API}/projects/{project_id}/tasks/next/claim"
        latencies = []
        for _ in range(min(claims, count)):
            started = time.perf_counter()
            check(client.post(url, json={"agent_id": "solo", "lease_seconds": 600}), 200)
            latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("upload", "claim"), help="run one of the two benches")
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL server (a scratch database is made)")
    parser.add_argument("--sizes", default="10,50,200", help="upload sizes in MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="upload runs per size")
    parser.add_argument("--claim-runs", type=int, default=3, help="claim-next runs per concurrency level and size")
    parser.add_argument("--tasks", type=int, default=500, help="tasks in the claim-next plan")
    parser.add_argument("--claimers", default="1,2,4,8", help="concurrency levels, comma-separated")
    parser.add_argument("--plan-sizes", default="100,500,2000", help="plan sizes for the cost-vs-size sweep ('' skips)")
    parser.add_argument("--sweep-runs", type=int, default=2, help="runs per plan size in the sweep")
    parser.add_argument("--quick", action="store_true", help="fewer runs, a smaller size sweep")
    args = parser.parse_args()
    if args.quick:
        args.runs = min(args.runs, 3)
        args.claim_runs = min(args.claim_runs, 2)
        args.sweep_runs = 1
        args.plan_sizes = "100,500"

    print(f"machine: {machine()}")
    print(f"load:    {load()} at the start")
    started = time.perf_counter()
    if args.only in (None, "upload"):
        bench_upload(args.database_url, [int(s) for s in args.sizes.split(",")], args.runs)
        print(f"(upload bench: {time.perf_counter() - started:.0f} s; load {load()})")
    if args.only in (None, "claim"):
        begun = time.perf_counter()
        sizes = [int(s) for s in args.plan_sizes.split(",") if s]
        levels = [int(n) for n in args.claimers.split(",")]
        bench_claim(args.database_url, args.tasks, levels, args.claim_runs, sizes, args.sweep_runs)
        print(f"(claim bench: {time.perf_counter() - begun:.0f} s; load {load()})")


if __name__ == "__main__":
    main()
