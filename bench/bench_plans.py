"""Plan versions at 40, 200 and 1,000 tasks: propose (write a version), accept, diff and read the active plan.

Uses the real services (gateway.app.services.plans) on a real database, not HTTP. The offline template planner
writes at most 40 tasks, so big plans are built as a user would build them: create a project from a brief
(a Godot 2D platformer), let the AI propose once, then submit whole-plan user edits (`plans.edit` with a
PlanDraft) of N synthetic but valid tasks: codes T-001…, idx topological, a dependency chain plus a fan-in
every 10th task, typed deliverables, estimates, priorities and Godot-compatible MCP tools.

Each run, per size, on one project:
  propose   plans.edit(draft=…) writes the next version (validation, N task rows, events); the draft
            alternates between two variants that differ in ~10% of the tasks (8% edited, 1% removed, 1% added)
  accept    plans.accept of that version (supersedes the previous one, sets the current task, writes the
            context update); the previous plan's tasks are all pending, so no progress is carried
  diff      plans.diff of this version against the previous one (~10% of tasks differ)
  read      plans.active + gateway.app.api.plans.read_plan (tasks_of + the API model PlanRead)
and on a second project, a re-plan mid-way:
  re-plan   plans.accept of a new version while half of the active plan's tasks are done (their progress,
            artifacts and task contexts are carried over by code)

Each operation runs in its own session (as one request would); drafts are built beforehand (request parsing is
not timed). The report gives the median and p90 of the runs, the SQL statements each operation issued, and how
the cost grows with the task count (fitted exponent k of time ~ N^k).

    .venv/bin/python bench/bench_plans.py [--sizes 40,200,1000] [--runs 7] [--quick]
    .venv/bin/python bench/bench_plans.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

import argparse
import statistics
import time
from typing import Any

from common import QueryCounter, growth, ms, p90, print_header, ratio_row, scratch_database
from sqlalchemy import update

from gateway.app.api.plans import read_plan
from gateway.app.db import DatabaseManager, TaskDB, utc_now
from gateway.app.logging import configure_logging
from gateway.app.planner import GameBrief, PlanDraft
from gateway.app.planner.models import DISCIPLINES
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import plans, projects

BRIEF = GameBrief(
    title="Star Courier",
    pitch="A courier leaps across a collapsing space station to deliver parcels before the air runs out.",
    genre="platformer-2d",
    engine="godot",
    platforms=["windows", "linux"],
    features=["save-system", "controller-support"],
)
TOOLS = {
    "design": ["filesystem.write_file", "filesystem.edit_file"],
    "programming": ["godot.run_project", "godot.get_debug_output", "filesystem.edit_file", "git.git_commit"],
    "art": ["godot.load_sprite", "filesystem.write_file"],
    "audio": ["filesystem.write_file"],
    "ui": ["godot.create_scene", "godot.add_node", "filesystem.edit_file"],
    "qa": ["godot.run_project", "godot.get_debug_output"],
    "release": ["git.git_commit", "git.git_log"],
}
DELIVERABLE = {
    "design": ("docs/design/feature_{n:04d}.md", "document"),
    "programming": ("scripts/feature_{n:04d}.gd", "code"),
    "art": ("assets/sprites/feature_{n:04d}.png", "asset"),
    "audio": ("assets/audio/feature_{n:04d}.ogg", "asset"),
    "ui": ("scenes/ui/feature_{n:04d}.tscn", "code"),
    "qa": ("docs/qa/feature_{n:04d}.md", "document"),
    "release": ("docs/release/feature_{n:04d}.md", "document"),
}


def task(n: int, idx: int, dependencies: list[int], *, edited: bool = False) -> dict[str, Any]:
    """Task number n (code T-00n) at position idx."""
    discipline = DISCIPLINES[n % len(DISCIPLINES)]
    path, category = DELIVERABLE[discipline]
    return {
        "code": f"T-{n:03d}",
        "idx": idx,
        "title": f"Feature {n}: {discipline} work" + (" (revised)" if edited else ""),
        "description": (
            f"Build feature {n} of the courier's station run in Godot 4: implement it, wire it into the level "
            f"flow and hand in `{path.format(n=n)}`." + (" Scope cut to the essentials after review." if edited else "")
        ),
        "discipline": discipline,
        "acceptance_criteria": [f"Feature {n} works in a debug run without errors", "Reviewed by a second person"],
        "deliverables": [{"name": path.format(n=n), "category": category, "required": True}],
        "estimates": {"story_points": 5 if edited else 3, "time_hours": 10.0 if edited else 6.0},
        "priority": 5 if edited else 1 + n % 5,
        "dependencies": [f"T-{d:03d}" for d in dependencies],
        "mcp_tools": TOOLS[discipline],
    }


def draft(size: int, *, variant: bool) -> PlanDraft:
    """A valid plan of `size` tasks: a chain, plus a fan-in on the previous 8 tasks every 10th task.

    The variant differs in ~10% of the tasks: every 12th task edited, the last 1% removed and as many added.
    """
    churn = max(1, size // 100) if variant else 0
    kept = size - churn
    tasks = []
    for i in range(kept):
        n = i + 1
        dependencies = list(range(max(1, n - 8), n)) if n % 10 == 0 else ([n - 1] if n > 1 else [])
        tasks.append(task(n, i, dependencies, edited=variant and n % 12 == 5))
    for j in range(churn):
        n = size + 1 + j
        tasks.append(task(n, kept + j, [kept - j, max(1, kept // 2 - j)]))
    label = "revised" if variant else "first"
    return PlanDraft(summary=f"Star Courier, {label} user plan: {size} tasks.", tasks=tasks, highest_code=size + churn)


def new_project(db: DatabaseManager, project_id: str, size: int) -> tuple[int, list[PlanDraft]]:
    """A project with an AI proposal, then a first user plan of `size` tasks, accepted. Returns its version."""
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id=project_id, name="Star Courier", brief=BRIEF))
    with db.get_session() as session:
        proposed = plans.propose(session=session, project_id=project_id)
    drafts = [draft(size, variant=False), draft(size, variant=True)]
    with db.get_session() as session:
        version = plans.edit(session=session, project_id=project_id, version=proposed.version, draft=drafts[0]).version
    with db.get_session() as session:
        plans.accept(session=session, project_id=project_id, version=version)
    return version, drafts


def measure_size(db: DatabaseManager, counter: QueryCounter, size: int, runs: int) -> dict[str, tuple]:
    """Every operation at one size: {name: (timings, queries)}."""
    project_id = f"plans-{size}"
    previous, drafts = new_project(db, project_id, size)
    results: dict[str, tuple[list[float], int]] = {}

    def record(name: str, elapsed: float, queries: int, warm: bool) -> None:
        if warm:
            timings, _ = results.setdefault(name, ([], 0))
            timings.append(elapsed)
            results[name] = (timings, queries)

    for run in range(runs + 1):  # run 0 warms caches and is not counted
        warm = run > 0
        plan_draft = drafts[(run + 1) % 2]
        box: dict[str, Any] = {}

        def propose(plan_draft: PlanDraft = plan_draft, box: dict[str, Any] = box, base: int = previous) -> None:
            with db.get_session() as session:
                box["version"] = plans.edit(
                    session=session, project_id=project_id, version=base, draft=plan_draft
                ).version

        record("propose", *counter.measure(propose), warm)
        version = box["version"]

        def accept(version: int = version) -> None:
            with db.get_session() as session:
                plans.accept(session=session, project_id=project_id, version=version)

        record("accept", *counter.measure(accept), warm)

        def diff(old: int = previous, new: int = version, box: dict[str, Any] = box) -> None:
            with db.read_session() as session:
                box["diff"] = plans.diff(session=session, project_id=project_id, from_version=old, to_version=new)

        record("diff", *counter.measure(diff), warm)
        changes = box["diff"]
        changed = len(changes["changed"]) + len(changes["added"]) + len(changes["removed"])
        assert changed >= size // 10, (size, changed)

        def read(box: dict[str, Any] = box) -> None:
            with db.read_session() as session:
                box["read"] = read_plan(session, plans.active(session=session, project_id=project_id))

        record("read", *counter.measure(read), warm)
        assert len(box["read"].tasks) == size
        assert box["read"].version == version
        previous = version

    results["re-plan"] = measure_replan(db, counter, size, runs)
    return results


def measure_replan(db: DatabaseManager, counter: QueryCounter, size: int, runs: int) -> tuple[list[float], int]:
    """Accept a new version while half of the active plan's tasks are done (progress carried by code)."""
    project_id = f"replan-{size}"
    previous, drafts = new_project(db, project_id, size)
    timings, queries = [], 0
    for run in range(runs + 1):
        with db.get_session() as session:  # setup, not timed: finish the first half of the active plan
            plan = plans.active(session=session, project_id=project_id)
            session.execute(
                update(TaskDB)
                .where(TaskDB.plan_id == plan.id, TaskDB.idx < size // 2)  # type: ignore[arg-type]
                .values(status="done", completed_at=utc_now(), summary="Delivered")
            )
            session.commit()
        with db.get_session() as session:
            version = plans.edit(
                session=session, project_id=project_id, version=previous, draft=drafts[(run + 1) % 2]
            ).version

        def accept(version: int = version) -> None:
            with db.get_session() as session:
                plans.accept(session=session, project_id=project_id, version=version)

        elapsed, queries = counter.measure(accept)
        if run > 0:
            timings.append(elapsed)
        previous = version
    with db.read_session() as session:
        active = plans.tasks_of(session=session, plan=plans.active(session=session, project_id=project_id))
        assert sum(t.status == "done" for t in active) >= size // 2 - max(1, size // 100)
    return timings, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,200,1000", help="task counts, comma-separated")
    parser.add_argument("--runs", type=int, default=7, help="measured runs per size (after one warm-up run)")
    parser.add_argument("--quick", action="store_true", help="3 runs per size")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: SQLite in a temp dir; a PostgreSQL URL names the server, where a scratch database is "
        "created and dropped",
    )
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    sizes = [int(s) for s in args.sizes.split(",")]
    configure_logging("WARNING", "console")

    started = time.perf_counter()
    with scratch_database(args.database_url, prefix="gw-bench-plans") as url:
        db = DatabaseManager(url)
        db.init_db()
        try:
            print_header("Plan versions: propose, accept, diff, read the active plan (services, no HTTP)", db)
            counter = QueryCounter(db.engine)
            print(f"runs:     median and p90 of {runs} runs per size, after one warm-up run; times in ms\n")
            names = ("propose", "accept", "diff", "read", "re-plan")
            by_size: dict[int, dict[str, tuple]] = {}
            print(f"{'operation':<10}{'tasks':>7}{'median ms':>11}{'p90 ms':>10}{'SQL':>6}{'µs/task':>9}")
            for size in sizes:
                by_size[size] = measure_size(db, counter, size, runs)
                for name in names:
                    timings, queries = by_size[size][name]
                    median = statistics.median(timings)
                    per_task = median / size * 1e6
                    print(f"{name:<10}{size:>7}{ms(median):>11}{ms(p90(timings)):>10}{queries:>6}{per_task:>9.0f}")
                print()
            if len(sizes) > 1:
                print("growth with the task count (time ~ N^k; k=1 is linear):")
                for name in names:
                    medians = [statistics.median(by_size[size][name][0]) for size in sizes]
                    queries = [by_size[size][name][1] for size in sizes]
                    print(f"  {name:<8} {growth(sizes, medians)}")
                    print(f"  {'':<8} {ratio_row(sizes, medians)}; SQL statements {' -> '.join(map(str, queries))}")
        finally:
            db.dispose()
    print(f"\ntotal bench time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
