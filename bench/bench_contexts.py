"""Context versions: the cost of reading the active context and of writing a version as one key's history grows.

Uses the real services (gateway.app.services.contexts) on a real database, not HTTP. One project (created from a
brief, so its global context starts at version 1 from the template); its global context's history is grown to
10, 100, 1,000 and 10,000 versions with fast direct writes through the service (`contexts.append` under
`projects.lock`, 500 versions per transaction). At each size:

  read     contexts.get_active + content_of (the active version, parsed), in a read session
  patch    contexts.patch with expected_version (a user's JSON Merge Patch with If-Match): lock, precondition,
           merge, validate, retire the old version, insert the new one, event, commit
  auto     an automatic update as the gateway makes one: projects.lock, read the active content, change it,
           contexts.append(source=ai-generate), commit
  history  contexts.history, first page of 20 (newest first) — the read that lists a key's versions

Each operation runs in its own session (as one request would). Writes add versions while they are measured,
so a size is the history when its measurement starts (it grows by 2 x runs). The report gives the median and
p90, the SQL statements each operation issued, and the ratio of the largest history to the smallest (the cost
should not grow with the history).

    .venv/bin/python bench/bench_contexts.py [--sizes 10,100,1000,10000] [--runs 15] [--quick]
    .venv/bin/python bench/bench_contexts.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

import argparse
import statistics
import time

from common import QueryCounter, growth, ms, p90, print_header, ratio_row, scratch_database, timed

from gateway.app.db import DatabaseManager
from gateway.app.logging import configure_logging
from gateway.app.planner import GameBrief
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import contexts, projects

PROJECT = "context-history"
BATCH = 500
BRIEF = GameBrief(
    title="Star Courier",
    pitch="A courier leaps across a collapsing space station to deliver parcels before the air runs out.",
    genre="platformer-2d",
    engine="godot",
    platforms=["windows", "linux"],
    features=["save-system", "controller-support"],
)


def grow(db: DatabaseManager, target: int) -> int:
    """Append versions of the global context until its history holds `target`; returns the active version."""
    while True:
        with db.get_session() as session:
            project = projects.lock(session=session, project_id=PROJECT)
            row = contexts.get_active(session=session, project_id=PROJECT)
            content = contexts.content_of(row)
            todo = min(BATCH, target - row.version)
            for n in range(row.version + 1, row.version + 1 + todo):
                content["glossary"]["history filler"] = f"written as version {n}"
                row = contexts.append(
                    session,
                    project=project,
                    task_id=None,
                    content=content,
                    source="ai-generate",
                    created_by="ai",
                    actor="system",
                    summary=f"filler version {n}",
                )
            session.commit()
        if row.version >= target:
            return row.version


def measure_size(db: DatabaseManager, counter: QueryCounter, runs: int, version: int) -> dict[str, tuple]:
    """Every operation at the current history (whose active version is `version`): {name: (timings, queries)}."""
    results: dict[str, tuple[list[float], int]] = {name: ([], 0) for name in ("read", "patch", "auto", "history")}
    state = {"version": version}

    def record(name: str, measured: tuple[float, int], warm: bool) -> None:
        if warm:
            results[name][0].append(measured[0])
            results[name] = (results[name][0], measured[1])

    def read() -> None:
        with db.read_session() as session:
            row = contexts.get_active(session=session, project_id=PROJECT)
            assert contexts.content_of(row)["game"]
            assert row.version == state["version"]

    def patch() -> None:
        with db.get_session() as session:
            row = contexts.patch(
                session=session,
                project_id=PROJECT,
                patch={"glossary": {"bench term": f"patched over version {state['version']}"}},
                expected_version=state["version"],
            )
        state["version"] = row.version

    def auto() -> None:
        with db.get_session() as session:
            project = projects.lock(session=session, project_id=PROJECT)
            current = contexts.get_active(session=session, project_id=PROJECT)
            content = contexts.content_of(current)
            content["progress"]["total"] = current.version
            row = contexts.append(
                session,
                project=project,
                task_id=None,
                content=content,
                source="ai-generate",
                created_by="ai",
                actor="system",
                summary=f"Progress recomputed over version {current.version}",
            )
            session.commit()
        state["version"] = row.version

    def history() -> None:
        with db.read_session() as session:
            page = contexts.history(session=session, project_id=PROJECT, limit=20)
            assert page.items[0].version == state["version"]
            assert len(page.items) == min(20, state["version"])

    for run in range(runs + 1):  # run 0 warms caches and is not counted
        warm = run > 0
        record("read", counter.measure(read), warm)
        record("patch", counter.measure(patch), warm)
        record("auto", counter.measure(auto), warm)
        record("history", counter.measure(history), warm)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="history sizes (versions), comma-separated")
    parser.add_argument("--runs", type=int, default=15, help="measured runs per size (after one warm-up run)")
    parser.add_argument("--quick", action="store_true", help="5 runs per size, history up to 1,000 versions")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: SQLite in a temp dir; a PostgreSQL URL names the server, where a scratch database is "
        "created and dropped",
    )
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes = [size for size in sizes if size <= 1000]
    configure_logging("WARNING", "console")

    started = time.perf_counter()
    with scratch_database(args.database_url, prefix="gw-bench-contexts") as url:
        db = DatabaseManager(url)
        db.init_db()
        try:
            print_header("Context history: read the active version and write a version (services, no HTTP)", db)
            with db.get_session() as session:
                projects.create(session=session, data=ProjectCreate(id=PROJECT, name="Star Courier", brief=BRIEF))
            counter = QueryCounter(db.engine)
            print(f"runs:     median and p90 of {runs} runs per size, after one warm-up run; times in ms")
            print(f"key:      the project's global context; history grown by contexts.append, {BATCH} per commit\n")
            names = ("read", "patch", "auto", "history")
            print(f"{'operation':<10}{'versions':>9}{'median ms':>11}{'p90 ms':>10}{'SQL':>6}   (history grown in)")
            by_size: dict[int, dict[str, tuple]] = {}
            for size in sizes:
                grown: dict[str, int] = {}
                growing = timed(lambda size=size, grown=grown: grown.update(version=grow(db, size)))
                results = measure_size(db, counter, runs, grown["version"])
                by_size[size] = results
                for index, name in enumerate(names):
                    timings, queries = results[name]
                    note = f"   ({growing:.1f} s)" if index == 0 else ""
                    print(
                        f"{name:<10}{size:>9}{ms(statistics.median(timings)):>11}{ms(p90(timings)):>10}"
                        f"{queries:>6}{note}"
                    )
                print()
            if len(sizes) > 1:
                first, last = sizes[0], sizes[-1]
                print(f"growth with the history (time ~ versions^k; k=0 is flat), {last} vs {first} versions:")
                for name in names:
                    medians = [statistics.median(by_size[size][name][0]) for size in sizes]
                    queries = [by_size[size][name][1] for size in sizes]
                    print(f"  {name:<8} {last}/{first}: x{medians[-1] / medians[0]:.2f}   {growth(sizes, medians)}")
                    print(f"  {'':<8} {ratio_row(sizes, medians)}; SQL statements {' -> '.join(map(str, queries))}")
        finally:
            db.dispose()
    print(f"\ntotal bench time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
