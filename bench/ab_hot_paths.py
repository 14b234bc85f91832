"""Before and after, interleaved: the hot paths of bench_hot_paths.py on two checkouts of the gateway, in turns.

On a shared machine the load drifts by the minute, so two runs minutes apart do not compare; this one alternates
a server from another checkout (`--baseline DIR`: `git worktree add DIR <commit>`, or `git archive <commit> | tar
-x -C DIR`; it runs on this venv with PYTHONPATH=DIR) and one from this checkout, round after round, and reports
the medians of the server's CPU time per request (what the load changes least) and the ratio after / before:

- briefing   GET …/tasks/{id}/briefing on a 500-task plan, 8 connections, 2 s per round
- transition claim-next, start, complete by one agent over a 100-task plan (3 transitions per task)

    .venv/bin/python bench/ab_hot_paths.py --baseline /tmp/gateway-before [--rounds 4] [--database-url URL]
"""

import argparse
import statistics
import tempfile
from pathlib import Path

import httpx2
from bench_hot_paths import briefing_rate, run_load
from bench_tasks import Server, database, load, machine, migrate, project_with_plan


def one_round(workdir: Path, url: str, env: dict[str, str]) -> dict[str, float]:
    server = Server(workdir, url, **env)
    try:
        with httpx2.Client(base_url=server.url, timeout=120) as client:
            project_id, plan = project_with_plan(client, 500)
            briefing_rate(server, project_id, plan, 8, 0.5)  # warm-up
            briefing = briefing_rate(server, project_id, plan, 8, 2.0)["cpu_ms"]
            project_id, plan = project_with_plan(client, 100)
        result, cpu = run_load("agents", "--base", server.url, "--project", project_id, "--connections", "1",
                               pid=server.pid)  # fmt: skip
        assert not result["errors"], result["errors"][:3]
        assert sorted(result["done"]) == sorted(t["id"] for t in plan["tasks"]), "a task lost or done twice"
        return {"briefing": briefing, "transition": cpu / 300 * 1000}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a checkout of the gateway to compare with")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL server (a scratch database is made)")
    args = parser.parse_args()
    print(f"ab_hot_paths\nmachine: {machine()}\nload:    {load()} at the start")
    sides = {"before": {"PYTHONPATH": str(Path(args.baseline).resolve())}, "after": {}}
    results: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="gateway-ab-") as tmp, database(args.database_url, Path(tmp)) as url:
        migrate(url)
        for n in range(args.rounds):
            for side, env in sides.items() if n % 2 == 0 else reversed(sides.items()):
                results[side].append(one_round(Path(tmp), url, env))
    print(f"load:    {load()} at the end; medians of {args.rounds} interleaved rounds, server CPU ms per request")
    print(f"  {'path':<12} {'before':>8} {'after':>8} {'after/before':>13}")
    for path in ("briefing", "transition"):
        before = statistics.median(r[path] for r in results["before"])
        after = statistics.median(r[path] for r in results["after"])
        print(f"  {path:<12} {before:>8.2f} {after:>8.2f} {after / before:>12.2f}x")


if __name__ == "__main__":
    main()
