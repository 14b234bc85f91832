"""Briefing size: what an agent reads for each task of a plan, in bytes and tokens, as the MCP tools send it.

For each genre x engine template (the offline template planner, `mvp` scope), a project is created and its plan
accepted; then the plan is worked through in order: each task is claimed and started (which writes its task
context), its briefing is taken exactly as `get_task`/`claim_task` serialise it (compact JSON), and the task is
finished with a two-sentence summary and one artifact per deliverable (rows written directly: validation is not
what this measures). So later briefings carry their dependencies' summaries and files, as they would in use.

Tokens are counted with the offline tokenizer `bpe_openai` (o200k_base). The report gives, per template, the
first task's briefing, the median, p90 and largest, and the share the `context` part takes.

    .venv/bin/python bench/bench_briefing.py [--database-url URL] [--genres platformer-2d,rpg] [--engines godot]
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bpe_openai
from common import p90, print_header, scratch_database

from gateway.app.db import ArtifactDB, DatabaseManager, TaskDB, utc_now
from gateway.app.logging import configure_logging
from gateway.app.planner import GameBrief
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import briefing, plans, projects, task_execution

ENCODING = bpe_openai.get_encoding("o200k_base")
GENRES = ("platformer-2d", "top-down-action", "puzzle", "rpg", "visual-novel", "racing")
ENGINES = ("godot", "unity", "phaser")


def compact(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def finish(db: DatabaseManager, task_id: int, project_id: str) -> None:
    """Mark a started task done with a summary and one valid artifact per deliverable (no validation run)."""
    with db.get_session() as session:
        task = session.get(TaskDB, task_id)
        for deliverable in json.loads(task.deliverables or "[]"):
            session.add(
                ArtifactDB(
                    project_id=project_id,
                    task_id=task_id,
                    name=deliverable["name"].rsplit("/", 1)[-1],
                    path=deliverable["name"],
                    category=deliverable["category"],
                    validation_status="valid",
                    size_bytes=1200,
                )
            )
        task.status, task.summary, task.completed_at = (
            "done",
            (
                f"{task.title} is in place and tested against its acceptance criteria. "
                "Tuning values live next to the code, as the conventions ask."
            ),
            utc_now(),
        )
        task.claimed_by = task.lease_expires_at = None
        session.add(task)
        session.commit()


def measure(db: DatabaseManager, genre: str, engine: str) -> dict:
    project_id = f"{genre}-{engine}"
    with db.get_session() as session:
        projects.create(
            session=session,
            data=ProjectCreate(id=project_id, name=project_id, brief=GameBrief(genre=genre, engine=engine)),
        )
        plans.propose(session=session, project_id=project_id)
        plans.accept(session=session, project_id=project_id, version=1)
    sizes, context_share = [], []
    while True:
        with db.get_session() as session:
            task = task_execution.claim_work(session=session, project_id=project_id, agent_id="bench")
        if task is None:
            break
        with db.read_session() as session:
            view = briefing.briefing(session, project_id=project_id, task=session.get(TaskDB, task.id))
        text = compact(view)
        sizes.append((len(text.encode()), len(ENCODING.encode(text))))
        context_share.append(len(compact(view["context"]).encode()) / len(text.encode()))
        finish(db, task.id, project_id)
    tokens = [t for _, t in sizes]
    return {
        "tasks": len(sizes),
        "first_bytes": sizes[0][0],
        "first_tokens": sizes[0][1],
        "median_tokens": statistics.median(tokens),
        "p90_tokens": p90(tokens),
        "max_tokens": max(tokens),
        "max_bytes": max(b for b, _ in sizes),
        "context_share": statistics.median(context_share),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to use instead of a scratch SQLite file")
    parser.add_argument("--genres", default=",".join(GENRES))
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    configure_logging(level="WARNING")
    with scratch_database(args.database_url, prefix="bench_briefing") as url:
        db = DatabaseManager(url)
        db.init_db()
        print_header("bench_briefing: the briefing an agent reads per task (compact JSON, o200k_base tokens)", db)
        print(f"{'template':<28} {'tasks':>5} {'first':>14} {'median':>7} {'p90':>6} {'max':>14} {'context':>8}")
        everything = []
        for genre in args.genres.split(","):
            for engine in args.engines.split(","):
                row = measure(db, genre, engine)
                everything.append(row)
                print(
                    f"{genre + '/' + engine:<28} {row['tasks']:>5} "
                    f"{row['first_tokens']:>5} tok {row['first_bytes'] / 1024:>4.1f} KB "
                    f"{row['median_tokens']:>7.0f} {row['p90_tokens']:>6.0f} "
                    f"{row['max_tokens']:>5} tok {row['max_bytes'] / 1024:>4.1f} KB {row['context_share']:>7.0%}"
                )
        db.dispose()
    medians = [row["median_tokens"] for row in everything]
    print(f"typical briefing (median of the templates' medians): {statistics.median(medians):.0f} tokens")


if __name__ == "__main__":
    main()
