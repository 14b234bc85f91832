"""The Planner protocol, what a planner run reports (provenance), and the registry that picks one by kind."""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from gateway.app.planner.models import PlanDraft, PlanningRequest


class Provenance(BaseModel):
    """Who made a plan version and at what cost: planner kind, provider, model, prompt, attempts, tokens, time."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "planner": "llm",
                    "provider": "openai-compatible",
                    "model": "qwen2.5-coder:7b",
                    "prompt_version": "planner/1",
                    "attempts": 2,
                    "tokens_in": 5210,
                    "tokens_out": 3877,
                    "latency_ms": 48210.5,
                    "cost_usd": 0.0,
                }
            ]
        },
    )

    planner: str = Field(description="template, llm, agent:<id>, user or import:<tool>")
    provider: str | None = Field(default=None, description="openai-compatible, openai, anthropic (LLM planners)")
    model: str | None = Field(default=None, description="The model that wrote the plan")
    prompt_version: str | None = Field(default=None, description="Version of the packaged prompts used")
    attempts: int | None = Field(default=None, description="Model answers used, repairs included")
    tokens_in: int | None = Field(default=None, description="Input tokens over all attempts")
    tokens_out: int | None = Field(default=None, description="Output tokens over all attempts")
    latency_ms: float | None = Field(default=None, description="Wall time of the planner run")
    cost_usd: float | None = Field(default=None, description="Estimated from the price table (0 for local models)")


@dataclass(frozen=True)
class Drafted:
    """A planner's draft and how it was made."""

    draft: PlanDraft
    provenance: Provenance


# A planner may report steps as it goes ("calling the model", "attempt 2: 3 problems, repairing").
Progress = Callable[[dict[str, Any]], Awaitable[None]]


@runtime_checkable
class Planner(Protocol):
    """Turns a planning request (brief, context, previous version, feedback) into a plan draft."""

    name: str

    def propose(self, request: PlanningRequest) -> PlanDraft:
        """A plan draft for the request; it must pass `ensure_valid`."""
        ...


class AsyncPlanner(Planner, Protocol):
    """A planner that waits on something slow (a model): drafts asynchronously, reports progress and provenance."""

    async def draft(self, request: PlanningRequest, *, progress: Progress | None = None) -> Drafted:
        """The draft with its provenance; raises PlanningFailed (with the problems) when no valid draft came."""
        ...


class PlanningFailed(Exception):
    """No valid draft: the reason and every problem of the last answer; `provenance` says what was spent."""

    def __init__(self, reason: str, problems: list[dict[str, Any]] | None = None, provenance: Provenance | None = None):
        super().__init__(reason)
        self.reason = reason
        self.problems = problems or []
        self.provenance = provenance


# kind → "module:Class"; the template planner never imports the LLM one.
PLANNERS: dict[str, str] = {
    "template": "gateway.app.planner.template:TemplatePlanner",
    "llm": "gateway.app.planner.llm:LLMPlanner",
}
# Planners that wait on a model: a proposal by one of them is a job, answered 202.
SLOW_PLANNERS = frozenset({"llm"})


def planner_kinds() -> list[str]:
    """The kinds `get_planner` accepts."""
    return list(PLANNERS)


def get_planner(kind: str = "template", **options: Any) -> Planner:
    """A planner of the given kind (options go to its constructor); an unknown kind is a ValueError."""
    try:
        target = PLANNERS[kind]
    except KeyError:
        raise ValueError(f"unknown planner kind {kind!r}; known kinds: {', '.join(PLANNERS)}") from None
    module_name, _, class_name = target.partition(":")
    planner_class = getattr(import_module(module_name), class_name)
    return planner_class(**options)


def draft_now(planner: Planner, request: PlanningRequest) -> Drafted:
    """Run a synchronous planner and say how it went."""
    started = time.perf_counter()
    draft = planner.propose(request)
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return Drafted(draft, Provenance(planner=planner.name, attempts=1, latency_ms=elapsed, cost_usd=0.0))


async def draft_with(planner: Planner, request: PlanningRequest, *, progress: Progress | None = None) -> Drafted:
    """Run any planner from async code: a slow one natively, a synchronous one in a worker thread."""
    if hasattr(planner, "draft"):
        return await planner.draft(request, progress=progress)
    import anyio.to_thread

    return await anyio.to_thread.run_sync(draft_now, planner, request)
