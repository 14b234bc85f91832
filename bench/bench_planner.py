"""The LLM planner: what the gateway adds around a model, how big its prompts are, and how good its plans are.

1. Overhead with an instant model (pydantic-ai's FunctionModel answers at once with a valid plan): the time the
   planner spends around the model (prompt, agent, parsing, the rules, conversion) for 40- and 200-task plans,
   and the same through a whole job (queue → worker → version written, on SQLite), median of `--runs`.
2. Prompt size in tokens (offline tokenizer `bpe_openai`, o200k_base) of a proposal, and of a revision of a
   40- and a 200-task plan (a revision carries the whole plan), plus the answer the model must write.
3. Plan quality for a set of briefs, against any configured model (`--model`, `--base-url`, `--provider`,
   `--api-key-env`, `--output-mode`): the share of brief features with a task, valid at the first attempt,
   attempts used, tokens, latency. Without a model it reports the offline template planner as the baseline.

    .venv/bin/python bench/bench_planner.py [--runs 5] [--model qwen2.5:7b --base-url http://127.0.0.1:11434/v1]
"""

import argparse
import asyncio
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bpe_openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app.planner import Feedback, GameBrief, PlanningRequest, get_planner, load_catalogue
from gateway.app.planner.library import normalise_text
from gateway.app.planner.llm import (
    Check,
    LLMConfig,
    LLMPlan,
    LLMPlanner,
    plan_as_llm_tasks,
    resolved_template,
)

BRIEFS = [
    GameBrief(
        title="Hollow Lantern",
        pitch="A lantern-bearer explores a ruined castle; new moves open new areas.",
        genre="metroidvania",
        engine="godot",
        platforms=["pc", "switch"],
        features=["double jump", "wall slide", "save rooms", "boss fights", "map screen"],
    ),
    GameBrief(
        title="Deck of Tides",
        pitch="A card-battler roguelike at sea: build a deck of crew cards, raid islands, survive storms.",
        genre="roguelike deckbuilder",
        engine="phaser",
        platforms=["web"],
        features=["deck building", "procedural map", "relics", "card upgrades", "run history"],
    ),
    GameBrief(
        title="Harbor Town",
        pitch="A cozy city builder: grow a fishing village into a port city through the seasons.",
        genre="city builder",
        engine="unity",
        platforms=["windows", "macos"],
        features=["zoning", "supply chains", "seasons", "save system", "tutorial"],
    ),
    GameBrief(
        title="Neon Breach",
        pitch="A fast arena first-person shooter with movement tech and short matches.",
        genre="first-person shooter",
        engine="unity",
        platforms=["windows", "playstation"],
        features=["weapon loadouts", "bot opponents", "online co-op multiplayer", "controller support"],
    ),
]
ENCODING = bpe_openai.get_encoding("o200k_base")


def tokens(text: str) -> int:
    return len(ENCODING.encode(text))


def sized_answer(brief: GameBrief, size: int) -> dict[str, Any]:
    """A valid plan of `size` tasks for the brief: the template plan, one task per feature, then filler tasks."""
    draft = get_planner("template").propose(PlanningRequest(brief=brief))
    tasks = plan_as_llm_tasks(draft)[: size - len(brief.features)]
    keep = {t["code"] for t in tasks}
    for task in tasks:
        task["dependencies"] = [d for d in task["dependencies"] if d in keep]
    for feature in brief.features:
        base = copy.deepcopy(tasks[-1])
        code = f"T-{max(int(t['code'][2:]) for t in tasks) + 1:03d}"
        base.update(code=code, title=f"Build {feature.replace('-', ' ')}", features=[feature])
        base["dependencies"] = [tasks[-1]["code"]]
        tasks.append(base)
    while len(tasks) < size:
        extra = copy.deepcopy(tasks[len(tasks) % 20])
        code = f"T-{max(int(t['code'][2:]) for t in tasks) + 1:03d}"
        extra.update(code=code, title=f"{extra['title']} (part {len(tasks) + 1})")
        extra["dependencies"] = [tasks[-1]["code"]]
        extra["milestone"] = tasks[-1]["milestone"]
        tasks.append(extra)
    tasks = tasks[:size]
    keep = {t["code"] for t in tasks}
    for task in tasks:
        task["dependencies"] = [d for d in task["dependencies"] if d in keep]
    names = ", ".join(brief.platforms)
    return {
        "summary": f"{size} tasks for {brief.title} on {names}.",
        "milestones": [m.model_dump() for m in draft.milestones],
        "tasks": tasks,
        "notes": [f"Platforms: {names}."],
    }


def instant_model(answer: dict[str, Any]) -> Any:
    from pydantic_ai.messages import ModelResponse, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    def respond(_messages: list[Any], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart(tool_name=info.output_tools[0].name, args=answer)])

    return FunctionModel(respond, model_name="instant")


def overhead(runs: int) -> None:
    print("== overhead with an instant model (median of runs)")
    brief = BRIEFS[0]
    for size in (40, 200):
        answer = sized_answer(brief, size)
        planner = LLMPlanner(LLMConfig(provider="openai", model="", output_mode="tool"), model=instant_model(answer))
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            asyncio.run(planner.draft(PlanningRequest(brief=brief)))
            times.append((time.perf_counter() - started) * 1000)
        print(f"  planner.draft, {size:3d} tasks: {statistics.median(times):7.1f} ms (min {min(times):.1f})")
    for size in (40, 200):
        print(f"  whole job,     {size:3d} tasks: {job_overhead(brief, sized_answer(brief, size), runs):7.1f} ms")


def job_overhead(brief: GameBrief, answer: dict[str, Any], runs: int) -> float:
    """Queue a proposal job and let a worker run it to `done` (the version written), on a fresh SQLite file."""
    from gateway.app.config import Settings
    from gateway.app.db import DatabaseManager
    from gateway.app.schemas.projects import ProjectCreate
    from gateway.app.services import planning, projects
    from gateway.app.worker import JobWorker

    times = []
    for run in range(runs):
        directory = Path(tempfile.mkdtemp(prefix="bench-planner-"))
        settings = Settings(
            database_url=f"sqlite:///{directory / 'gateway.db'}",
            data_dir=directory,
            planner="llm",
            llm_model="instant",
            llm_base_url="http://127.0.0.1:9/v1",
            log_level="ERROR",
        )
        db = DatabaseManager(settings.database_url)
        db.init_db()
        with db.get_session() as session:
            projects.create(session=session, data=ProjectCreate(id=f"p{run}", name="Bench", brief=brief))
        model = instant_model(answer)
        worker = JobWorker(
            db,
            settings,
            planners=lambda _kind, m=model: LLMPlanner(
                LLMConfig(provider="openai", model="", output_mode="tool"), model=m
            ),
        )
        started = time.perf_counter()
        with db.get_session() as session:
            planning.request_proposal(session=session, project_id=f"p{run}", planner="llm", settings=settings)
        assert asyncio.run(worker.run_once())
        times.append((time.perf_counter() - started) * 1000)
        db.dispose()
    return statistics.median(times)


def prompt_sizes() -> None:
    print("== prompt size (o200k_base tokens)")
    brief = BRIEFS[0]
    planner = LLMPlanner(LLMConfig(provider="openai-compatible", model="m", base_url="http://127.0.0.1:9/v1"))
    tool_planner = LLMPlanner(LLMConfig(provider="openai", model="m", output_mode="tool"))
    from gateway.app.planner.llm import load_prompts

    system = tokens(load_prompts().texts["system"])
    print(f"  system prompt: {system}")
    print(
        f"  proposal prompt: {tokens(tool_planner.prompt(PlanningRequest(brief=brief)))} (tool mode), "
        f"{tokens(planner.prompt(PlanningRequest(brief=brief)))} (prompted-json: the schema included)"
    )
    for size in (40, 200):
        answer = sized_answer(brief, size)
        request = PlanningRequest(brief=brief)
        draft = _check(request).convert(LLMPlan.model_validate(answer))[0]
        revise = PlanningRequest(brief=brief, previous=draft, feedback=Feedback(text="Bosses in a later milestone."))
        print(
            f"  {size:3d}-task plan: revision prompt {tokens(tool_planner.prompt(revise)):6d}, "
            f"answer {tokens(json.dumps(answer, separators=(',', ':'))):6d}"
        )


def _check(request: PlanningRequest) -> Check:
    template, engine = resolved_template(request)
    return Check(request=request, engine=engine, template=template, catalogue=load_catalogue())


def coverage(brief: GameBrief, tasks: list[dict[str, Any]]) -> float:
    wanted = [f for f in brief.features if not f.startswith("no-")]
    if not wanted:
        return 1.0
    texts = [set(normalise_text(f"{t['title']} {t['description']}").split()) for t in tasks]
    covered = [f for f in wanted if any(set(normalise_text(f).split()) <= words for words in texts)]
    return len(covered) / len(wanted)


def quality(args: argparse.Namespace) -> None:
    print("== plan quality")
    if not args.model:
        print("  (no --model: the offline template planner as the baseline)")
        for brief in BRIEFS:
            started = time.perf_counter()
            draft = get_planner("template").propose(PlanningRequest(brief=brief))
            elapsed = (time.perf_counter() - started) * 1000
            tasks = [t.model_dump() for t in draft.tasks]
            print(
                f"  {brief.title:15s} coverage {coverage(brief, tasks):4.0%}  tasks {len(tasks):3d}  {elapsed:6.1f} ms"
            )
        return
    config = LLMConfig(
        provider=args.provider,
        model=args.model,
        base_url=args.base_url,
        api_key=os.environ.get(args.api_key_env) if args.api_key_env else None,
        output_mode=args.output_mode,
        max_attempts=args.attempts,
    )
    rows = []
    for brief in BRIEFS:
        planner = LLMPlanner(config)
        started = time.perf_counter()
        try:
            drafted = asyncio.run(planner.draft(PlanningRequest(brief=brief)))
            tasks = [t.model_dump() for t in drafted.draft.tasks]
            provenance, outcome = drafted.provenance, "valid"
        except Exception as exc:  # a failed run is a result too
            provenance = getattr(exc, "provenance", None)
            tasks, outcome = [], f"failed: {str(exc)[:80]}"
        elapsed = time.perf_counter() - started
        attempts = provenance.attempts if provenance else None
        rows.append((brief.title, coverage(brief, tasks), attempts == 1 and outcome == "valid", attempts, outcome))
        tok = f"{provenance.tokens_in}/{provenance.tokens_out}" if provenance else "-"
        first = attempts == 1 and outcome == "valid"
        print(
            f"  {brief.title:15s} coverage {coverage(brief, tasks):4.0%}  first-attempt {first!s:5s}"
            f"  attempts {attempts}  tokens {tok}  {elapsed:6.1f} s  {outcome}"
        )
    valid_first = sum(1 for r in rows if r[2]) / len(rows)
    print(
        f"  overall: coverage {statistics.mean(r[1] for r in rows):.0%}, valid at first attempt {valid_first:.0%}, "
        f"attempts {statistics.mean(r[3] or 0 for r in rows):.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", help="measure plan quality with this model")
    parser.add_argument("--provider", default="openai-compatible", choices=["openai-compatible", "openai", "anthropic"])
    parser.add_argument("--base-url")
    parser.add_argument("--api-key-env", help="name of the environment variable holding the key")
    parser.add_argument("--output-mode", default="auto")
    parser.add_argument("--attempts", type=int, default=3)
    args = parser.parse_args()
    overhead(args.runs)
    prompt_sizes()
    quality(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
