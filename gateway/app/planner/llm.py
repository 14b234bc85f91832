"""The LLM planner: a model drafts the plan through pydantic-ai; the gateway's own rules check every answer.

Whatever the model answers goes through the same `draft_problems` every draft passes, plus the LLM planner's
rules (every brief feature covered, platforms kept, milestones, feedback accounted for). Problems go back to
the model for repair, up to `max_attempts` answers; then the run fails with the last answer's problems and
nothing is stored. Answers may come as a tool call, as native JSON output or as text (JSON inside `<think>`
blocks, code fences or prose is found; a cut-off answer is asked again). Prompts are data (prompts/*.toml).
"""

import asyncio
import json
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from string import Template
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from gateway.app.planner.base import Drafted, PlanningFailed, Progress, Provenance
from gateway.app.planner.catalogue import Catalogue, load_catalogue
from gateway.app.planner.library import (
    load_library,
    normalise_feature,
    normalise_text,
    resolve_engine,
    resolve_genre,
)
from gateway.app.planner.models import ArtifactCategory, Discipline, PlanDraft, PlanningRequest
from gateway.app.planner.validation import draft_problems

Mode = Literal["tool", "native", "prompted-json", "prompted"]
_THINK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)(?:```|\Z)", re.DOTALL)
_CODE = re.compile(r"^\s*[Tt]\s*[-_ ]?\s*0*(\d{1,6})\s*$")
PROBLEMS_SHOWN = 40  # problems sent back in one repair message (the rest are summarised)


# --- What the model writes ----------------------------------------------------------------------------
# Looser than PlanDraft on purpose (no regex patterns, flat estimates): a small model gets a schema it can
# follow, and the gateway's rules say precisely what to fix.


class LLMDeliverable(BaseModel):
    """A file the task hands in."""

    name: str = Field(description="Project-relative path, e.g. scripts/player/player.gd")
    category: ArtifactCategory = Field(description="code | asset | document | screenshot")
    description: str | None = Field(default=None, description="What the file holds")


class LLMTask(BaseModel):
    """One task of the plan."""

    code: str = Field(description="T-001, T-002…; a kept task keeps its code")
    title: str = Field(description="Short imperative title")
    description: str = Field(description="What to do and how, with the engine's real names")
    discipline: Discipline
    milestone: str | None = Field(default=None, description="Key of the milestone the task belongs to")
    features: list[str] = Field(default_factory=list, description="Brief features this task delivers")
    acceptance_criteria: list[str] = Field(description="Checks that say the task is done")
    deliverables: list[LLMDeliverable] = Field(default_factory=list)
    story_points: int = Field(description="1, 2, 3, 5, 8 or 13")
    time_hours: float = Field(description="Hours of work for one developer")
    priority: int = Field(description="1 (can wait) to 5 (most urgent)")
    dependencies: list[str] = Field(default_factory=list, description="Codes of tasks to finish first")
    mcp_tools: list[str] = Field(default_factory=list, description="Catalogue tools: server or server.tool")


class LLMMilestone(BaseModel):
    """A stage of the plan."""

    key: str = Field(description="Short slug, e.g. prototype")
    title: str
    goal: str | None = Field(default=None, description="What is true when the milestone is reached")


class FeedbackPoint(BaseModel):
    """One point of the user's feedback and what the revision did about it."""

    point: str = Field(description="The point, in the user's words")
    handled: str = Field(description="What changed (task codes) or why it was not followed")


class LLMPlan(BaseModel):
    """The plan the model returns."""

    summary: str = Field(description="The plan in a paragraph")
    milestones: list[LLMMilestone] = Field(default_factory=list, description="Ordered milestones")
    tasks: list[LLMTask]
    notes: list[str] = Field(default_factory=list, description="Assumptions, things left out and why")
    feedback: list[FeedbackPoint] = Field(default_factory=list, description="Revisions: each feedback point")


# --- Prompts and prices (data files) ------------------------------------------------------------------


@dataclass(frozen=True)
class Prompts:
    """The packaged prompt texts and their version."""

    version: str
    texts: dict[str, str]

    def render(self, name: str, **values: Any) -> str:
        """A prompt with its $placeholders filled."""
        return Template(self.texts[name]).safe_substitute({k: str(v) for k, v in values.items()})


@cache
def load_prompts() -> Prompts:
    """The prompts in prompts/planner.toml."""
    text = resources.files("gateway.app.planner").joinpath("prompts", "planner.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return Prompts(version=data.pop("version"), texts=data)


@cache
def _packaged_prices() -> dict[str, tuple[float, float]]:
    text = resources.files("gateway.app.planner").joinpath("resources", "prices.toml").read_text(encoding="utf-8")
    return {name: (float(p[0]), float(p[1])) for name, p in tomllib.loads(text)["models"].items()}


def price_of(
    model: str, provider: str, extra: dict[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """USD per million (input, output) tokens: exact name, then the longest listed prefix; local models cost 0."""
    table = {**_packaged_prices(), **(extra or {})}
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name)]
    if prefixes:
        return table[max(prefixes, key=len)]
    return (0.0, 0.0) if provider == "openai-compatible" else None


# --- Configuration --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMConfig:
    """Which model to ask and how; built from the GATEWAY_LLM_* settings. The key never appears in its repr."""

    provider: str = "openai-compatible"
    model: str = ""
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    output_mode: Mode | Literal["auto"] = "auto"
    max_attempts: int = 3
    request_timeout_s: float = 300.0
    max_tokens: int = 8192
    temperature: float | None = 0.2
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    sdk_retries: int = 1

    @classmethod
    def from_settings(cls, settings: Any) -> "LLMConfig":
        """The configuration the settings describe."""
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else None
        return cls(
            provider=settings.llm_provider,
            model=settings.llm_model or "",
            base_url=settings.llm_base_url,
            api_key=key,
            output_mode=settings.llm_output_mode,
            max_attempts=settings.llm_max_attempts,
            request_timeout_s=settings.llm_request_timeout_s,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            prices=dict(settings.llm_prices),
        )

    @property
    def mode(self) -> Mode:
        """The output mode: the setting, or the provider's usual one."""
        if self.output_mode != "auto":
            return self.output_mode
        return "prompted-json" if self.provider == "openai-compatible" else "tool"

    def scrub(self, text: str) -> str:
        """The text without the API key in it (error messages echo requests sometimes)."""
        return text.replace(self.api_key, "***") if self.api_key else text


def _preload(provider: str) -> None:
    """Import the SDKs now (the constructor runs in a worker thread; a first import inside the event loop would
    stall every request the process serves for seconds)."""
    import pydantic_ai

    if provider == "anthropic":
        import pydantic_ai.models.anthropic
    else:
        import pydantic_ai.models.openai  # noqa: F401


def build_model(config: LLMConfig) -> tuple[Any, Any]:
    """The pydantic-ai model for the configuration and its SDK client (to close after the run).

    Imported lazily: the template planner never needs these libraries.
    """
    if not config.model:
        raise PlanningFailed("No LLM is configured: set GATEWAY_LLM_MODEL (and GATEWAY_LLM_PROVIDER, _BASE_URL).")
    if config.provider == "anthropic":
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        if not config.api_key:
            raise PlanningFailed("The anthropic provider needs GATEWAY_LLM_API_KEY.")
        anthropic_client = AsyncAnthropic(
            api_key=config.api_key,
            base_url=config.base_url,
            max_retries=config.sdk_retries,
            timeout=config.request_timeout_s,
        )
        provider = AnthropicProvider(anthropic_client=anthropic_client)
        return AnthropicModel(config.model, provider=provider), anthropic_client
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    if config.provider == "openai-compatible" and not config.base_url:
        raise PlanningFailed(
            "The openai-compatible provider needs GATEWAY_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1)."
        )
    if config.provider == "openai" and not config.api_key:
        raise PlanningFailed("The openai provider needs GATEWAY_LLM_API_KEY.")
    client = AsyncOpenAI(
        api_key=config.api_key or "not-needed",  # local servers ignore it; the SDK insists on one
        base_url=config.base_url,
        max_retries=config.sdk_retries,
        timeout=config.request_timeout_s,
    )
    return OpenAIChatModel(config.model, provider=OpenAIProvider(openai_client=client)), client


# --- Parsing answers ------------------------------------------------------------------------------------


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema with `$ref`s inlined and titles dropped (llama.cpp's grammar converter wants it so)."""
    definitions = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items() if k not in ("$defs", "title")}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


@cache
def output_schema(model: type[BaseModel] = LLMPlan) -> dict[str, Any]:
    """The schema of what the model writes, self-contained."""
    return _inline_refs(model.model_json_schema())


def extract_json(text: str) -> Any:
    """The JSON value in a model's text: without `<think>` blocks, code fences or prose around it.

    Raises ValueError saying what is wrong (no JSON, or JSON cut off), in words a model can act on.
    """
    cleaned = _THINK.sub("", text).strip()
    fenced = _FENCE.search(cleaned)
    if fenced:
        cleaned = fenced.group(1).strip()
    start = cleaned.find("{")
    if start < 0:
        raise ValueError("the answer holds no JSON object; answer with the JSON object only")
    end = cleaned.rfind("}")
    candidate = cleaned[start : end + 1] if end > start else cleaned[start:]
    try:
        return json.loads(candidate)
    except json.JSONDecodeError as exc:
        if end <= start or exc.pos >= len(candidate) - 2:
            raise ValueError(
                f"the JSON answer is cut off after {len(candidate)} characters; send the complete plan again, "
                "with shorter descriptions if needed"
            ) from None
        raise ValueError(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from None


def _loc_text(loc: list[Any], codes: list[str]) -> str:
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "tasks" and isinstance(parts[1], int) and parts[1] < len(codes):
        head = f"task {codes[parts[1]]}"
        rest = ".".join(str(p) for p in parts[2:])
        return f"{head} {rest}".strip()
    return ".".join(str(p) for p in parts) or "plan"


def repair_message(problems: list[dict[str, Any]], codes: list[str]) -> str:
    """The repair prompt: every problem (up to PROBLEMS_SHOWN), located by task code."""
    lines = [f"- {_loc_text(p.get('loc', []), codes)}: {p.get('msg')}" for p in problems[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(f"- …and {len(problems) - PROBLEMS_SHOWN} more of the same kinds")
    return load_prompts().render("repair", problems="\n".join(lines))


# --- From the model's plan to a PlanDraft ---------------------------------------------------------------


def canonical_code(value: Any) -> str | None:
    """'T-4', 't004', 'T_12' → 'T-004', 'T-012'; None when it is not a task code."""
    match = _CODE.match(str(value))
    return f"T-{int(match.group(1)):03d}" if match else None


def _number(code: str) -> int:
    return int(code.split("-", 1)[1])


def _topological(order: list[str], deps: dict[str, list[str]]) -> list[str] | None:
    """The codes in an order where each follows its dependencies, staying close to the given order; None on a cycle."""
    placed: list[str] = []
    done: set[str] = set()
    remaining = list(order)
    while remaining:
        for code in remaining:
            if all(d in done or d not in deps for d in deps.get(code, [])):
                placed.append(code)
                done.add(code)
                remaining.remove(code)
                break
        else:
            return None
    return placed


@dataclass
class Check:
    """What a planning run checks the model's answers against."""

    request: PlanningRequest
    engine: str
    template: str
    catalogue: Catalogue

    def convert(self, plan: LLMPlan) -> tuple[PlanDraft | None, list[dict[str, Any]], list[str]]:
        """The draft (None when it cannot be built), every problem, and the codes (for locating problems)."""
        previous = self.request.previous
        base_codes = {t.code for t in previous.tasks} if previous else set()
        highest = previous.highest_code if previous else 0
        problems: list[dict[str, Any]] = []
        codes: list[str] = []
        renamed: dict[str, str] = {}
        given = [canonical_code(task.code) for task in plan.tasks]
        next_free = max([highest, *(_number(c) for c in given if c)]) + 1
        for i, (task, canonical) in enumerate(zip(plan.tasks, given, strict=True)):
            code = canonical or str(task.code)
            if canonical is None:
                msg = f"{task.code!r} is not a code like T-001"
                problems.append({"loc": ["tasks", i, "code"], "msg": msg, "type": "code_format"})
            elif canonical not in base_codes and previous is not None and _number(canonical) <= highest:
                # A new task may not take a code the plan's history already used (progress follows codes).
                code = renamed[canonical] = f"T-{next_free:03d}"
                next_free += 1
            codes.append(code)
        for raw, code in zip(plan.tasks, codes, strict=True):
            renamed.setdefault(str(raw.code), code)

        def dep_code(value: str) -> str:
            code = canonical_code(value) or value
            return renamed.get(code, renamed.get(value, code))

        deps = {code: [dep_code(d) for d in task.dependencies] for code, task in zip(codes, plan.tasks, strict=True)}
        order = _topological(codes, deps) if len(set(codes)) == len(codes) else None
        position = {code: i for i, code in enumerate(order)} if order else {}
        rows = []
        for i, (code, task) in enumerate(zip(codes, plan.tasks, strict=True)):
            row: dict[str, Any] = {
                "code": code,
                "idx": position.get(code, i),
                "title": task.title,
                "description": task.description,
                "discipline": task.discipline,
                "acceptance_criteria": task.acceptance_criteria,
                "deliverables": [d.model_dump() for d in task.deliverables],
                "estimates": {"story_points": task.story_points, "time_hours": task.time_hours},
                "priority": task.priority,
                "dependencies": deps[code],
                "mcp_tools": task.mcp_tools,
                "milestone": task.milestone,
            }
            rows.append(row)
        numbers = [_number(c) for c in codes if canonical_code(c) == c]
        data: dict[str, Any] = {
            "summary": plan.summary,
            "tasks": rows,
            "notes": [*plan.notes, *(f"Feedback “{f.point}”: {f.handled}" for f in plan.feedback)],
            "template": self.template,
            "scope": self.request.brief.scope,
            "features": list(self.request.brief.features),
            "highest_code": max([highest, *numbers]),
        }
        data["milestones"] = [m.model_dump() for m in plan.milestones]
        try:
            draft = PlanDraft.model_validate(data)
        except ValidationError as exc:
            problems.extend(
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False)
            )
            return None, problems, codes
        # The gateway orders the tasks itself, so an order problem only echoes a cycle (reported on its own).
        problems.extend(
            p for p in draft_problems(draft, self.catalogue, engine=self.engine) if p["type"] != "dependency_order"
        )
        problems.extend(self._brief_problems(plan, codes))
        # Stored in idx order, like every version.
        draft.tasks.sort(key=lambda t: t.idx)
        return draft, problems, codes

    def _brief_problems(self, plan: LLMPlan, codes: list[str]) -> list[dict[str, Any]]:
        brief = self.request.brief
        problems: list[dict[str, Any]] = []
        texts = [
            normalise_text(
                " ".join([t.title, t.description, *t.acceptance_criteria, *(d.name for d in t.deliverables)])
            )
            for t in plan.tasks
        ]
        declared = [{normalise_feature(f) for f in t.features} for t in plan.tasks]
        # A feature left out on purpose (the user's feedback said so) is explained in a note instead.
        explained = set(normalise_text(" ".join([*plan.notes, *(f.handled for f in plan.feedback)])).split())
        for feature in brief.features:
            if feature.startswith("no-"):
                continue
            wanted = set(normalise_text(feature).split())
            if any(feature in d for d in declared) or any(wanted <= set(text.split()) for text in texts):
                continue
            if wanted <= explained:
                continue
            problems.append(
                {
                    "loc": ["tasks"],
                    "msg": f"the brief's feature '{feature}' has no task: add one that says so (name it in the "
                    "task's title or description and list it in its features), or a note saying why it is left out",
                    "type": "feature_uncovered",
                }
            )
        notes = normalise_text(" ".join([*plan.notes, plan.summary]))
        names = load_library().platform_names
        everything = " ".join(texts) + " " + notes
        for platform in brief.platforms:
            spellings = {normalise_text(platform), normalise_text(names.get(platform, platform))}
            if not any(re.search(rf"(?<![a-z0-9]){re.escape(s)}(?![a-z0-9])", everything) for s in spellings):
                problems.append(
                    {
                        "loc": ["tasks"],
                        "msg": f"the brief's platform '{names.get(platform, platform)}' appears nowhere: add the "
                        "work it needs (export, input, performance, certification) or a note saying why it is left out",
                        "type": "platform_dropped",
                    }
                )
        if not plan.milestones:  # each task's milestone is checked by the validator once there are milestones
            msg = "group the tasks into ordered milestones (e.g. prototype, alpha, release) and give each task one"
            problems.append({"loc": ["milestones"], "msg": msg, "type": "milestones_missing"})
        feedback = self.request.feedback
        if feedback is not None and feedback.text and not plan.feedback:
            problems.append(
                {
                    "loc": ["feedback"],
                    "msg": "list each point of the user's feedback in `feedback` with how you handled it",
                    "type": "feedback_unanswered",
                }
            )
        return problems


# --- Running a model ------------------------------------------------------------------------------------


@dataclass
class _Run:
    """One planning run's state, shared with the validators pydantic-ai calls."""

    accept: Callable[[Any], tuple[Any, list[dict[str, Any]], list[str]]]
    progress: Progress | None
    max_attempts: int
    instructions: str = ""
    answers: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None

    async def report(self, step: str, **data: Any) -> None:
        if self.progress is not None:
            await self.progress({"step": step, **data})

    async def check(self, value: Any) -> Any:
        from pydantic_ai import ModelRetry

        self.answers += 1
        result, problems, codes = self.accept(value)
        if problems:
            self.problems = problems
            await self.report(
                "repairing" if self.answers < self.max_attempts else "refused",
                attempt=self.answers,
                problems=len(problems),
                message=f"answer {self.answers} breaks {len(problems)} rule(s)",
            )
            raise ModelRetry(repair_message(problems, codes))
        self.problems, self.result = [], result
        await self.report("validated", attempt=self.answers, message=f"answer {self.answers} passes every rule")
        return value

    async def unreadable(self, reason: str) -> None:
        from pydantic_ai import ModelRetry

        self.answers += 1
        self.problems = [{"loc": [], "msg": reason, "type": "answer_unreadable"}]
        await self.report("repairing", attempt=self.answers, problems=1, message=reason)
        raise ModelRetry(f"Your answer cannot be used: {reason}.")


class LLMRunner:
    """Asks a model for one structured answer, checks it, feeds problems back; reports provenance."""

    def __init__(self, config: LLMConfig, *, model: Any = None) -> None:
        self.config = config
        self._model = model

    async def _close(self, client: Any) -> None:
        # Each run builds its own client inside the running event loop; its connections die with the run.
        if client is not None:
            await client.close()

    @property
    def model_name(self) -> str:
        """The model's name as configured (or the test model's)."""
        return self.config.model or getattr(self._model, "model_name", "") or "unknown"

    def _settings(self, output: type[BaseModel]) -> dict[str, Any]:
        settings: dict[str, Any] = {"max_tokens": self.config.max_tokens, "timeout": self.config.request_timeout_s}
        if self.config.temperature is not None:
            settings["temperature"] = self.config.temperature
        if self.config.mode == "prompted-json" and self.config.provider != "anthropic":
            # llama.cpp's server turns this schema into a grammar; Ollama and vLLM accept json_object too.
            settings["extra_body"] = {"response_format": {"type": "json_object", "schema": output_schema(output)}}
        return settings

    def schema_hint(self, output: type[BaseModel]) -> str:
        """The schema paragraph of a prompt: needed when the model answers in text."""
        if self.config.mode in ("prompted-json", "prompted"):
            schema = json.dumps(output_schema(output), separators=(",", ":"))
            return load_prompts().render("schema_hint", schema=schema)
        return ""

    def _agent(self, model: Any, output: type[BaseModel], run: "_Run") -> Any:
        """A pydantic-ai agent whose every answer goes through `run.check` (text answers parsed first)."""
        from pydantic_ai import Agent, NativeOutput, TextOutput, ToolOutput

        attempts = self.config.max_attempts
        mode = self.config.mode

        async def parse_text(text: str) -> Any:
            try:
                value = output.model_validate(extract_json(text))
            except ValueError as exc:  # ValidationError is a ValueError too
                reason = _validation_text(exc) if isinstance(exc, ValidationError) else str(exc)
                await run.unreadable(reason)
            return await run.check(value)

        output_spec: Any
        if mode == "tool":
            output_spec = ToolOutput(output, name="submit_plan", max_retries=attempts - 1)
        elif mode == "native":
            output_spec = NativeOutput(output)
        else:
            output_spec = TextOutput(parse_text)
        # pydantic-ai's overloads cannot type an output spec chosen at run time (tool, native or text).
        agent: Any = Agent(  # type: ignore[call-overload]
            model,
            output_type=output_spec,
            instructions=run.instructions,
            retries={"output": attempts - 1, "tools": attempts - 1},
            model_settings=self._settings(output),
        )
        if mode in ("tool", "native"):
            agent.output_validator(run.check)
        return agent

    async def run(
        self,
        *,
        instructions: str,
        prompt: str,
        output: type[BaseModel],
        accept: Callable[[Any], tuple[Any, list[dict[str, Any]], list[str]]],
        progress: Progress | None = None,
    ) -> tuple[Any, Provenance]:
        """The accepted result and the provenance; PlanningFailed (with problems and provenance) otherwise."""
        from pydantic_ai import capture_run_messages
        from pydantic_ai.exceptions import AgentRunError, ModelAPIError, ModelHTTPError, UnexpectedModelBehavior

        attempts = self.config.max_attempts
        run = _Run(accept=accept, progress=progress, max_attempts=attempts, instructions=instructions)
        client = None
        model = self._model
        if model is None:
            model, client = build_model(self.config)
        agent = self._agent(model, output, run)
        await run.report("drafting", attempt=1, message=f"asking {self.config.provider} model {self.model_name}")
        started = time.perf_counter()
        failure: PlanningFailed | None = None
        with capture_run_messages() as messages:
            try:
                await agent.run(prompt)
            except UnexpectedModelBehavior as exc:
                failure = PlanningFailed(
                    f"no valid plan after {max(run.answers, 1)} answer(s): {self.config.scrub(exc.message)}",
                    run.problems,
                )
            except (ModelHTTPError, ModelAPIError) as exc:
                failure = PlanningFailed(f"the model service failed: {self.config.scrub(str(exc))[:500]}", [])
            except AgentRunError as exc:
                failure = PlanningFailed(f"the model run failed: {self.config.scrub(str(exc))[:500]}", run.problems)
            except PlanningFailed as exc:
                failure = exc
            except (OSError, TimeoutError) as exc:
                failure = PlanningFailed(f"the model service is unreachable: {type(exc).__name__}", [])
            finally:
                await self._close(client)
        provenance = self._provenance(messages, time.perf_counter() - started, run.answers)
        if failure is not None or run.result is None:
            failure = failure or PlanningFailed("the model gave no usable answer", run.problems)
            failure.provenance = provenance
            raise failure
        return run.result, provenance

    def _provenance(self, messages: list[Any], elapsed: float, answers: int) -> Provenance:
        from pydantic_ai.messages import ModelResponse

        responses = [m for m in messages if isinstance(m, ModelResponse)]
        tokens_in = sum(r.usage.input_tokens or 0 for r in responses)
        tokens_out = sum(r.usage.output_tokens or 0 for r in responses)
        price = price_of(self.model_name, self.config.provider, self.config.prices)
        cost = None if price is None else round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 6)
        return Provenance(
            planner="llm",
            provider=self.config.provider,
            model=self.model_name,
            prompt_version=load_prompts().version,
            attempts=max(len(responses), answers),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=round(elapsed * 1000, 1),
            cost_usd=cost,
        )


def _validation_text(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'plan'}: {e['msg']}" for e in errors[:PROBLEMS_SHOWN])
    return f"the JSON does not follow the schema ({len(errors)} error(s)): {shown}"


# --- The planner ----------------------------------------------------------------------------------------


def _compact(value: Any, limit: int) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _catalogue_text(catalogue: Catalogue, engine: str) -> str:
    lines = []
    for server in catalogue.servers:
        if server.engines and engine not in server.engines:
            continue
        tools = ", ".join(tool.name for tool in server.tools)
        lines.append(f"- {server.name} ({server.title}): {tools}")
    return "\n".join(lines) or "(none)"


def plan_as_llm_tasks(draft: PlanDraft) -> list[dict[str, Any]]:
    """A stored draft's tasks in the shape the model writes (so it can copy what it keeps)."""
    rows = []
    for task in draft.tasks:
        row: dict[str, Any] = {
            "code": task.code,
            "title": task.title,
            "description": task.description,
            "discipline": task.discipline,
            "milestone": task.milestone,
            "acceptance_criteria": task.acceptance_criteria,
            "deliverables": [d.model_dump(exclude={"required"}) for d in task.deliverables],
            "story_points": task.estimates.story_points,
            "time_hours": task.estimates.time_hours,
            "priority": task.priority,
            "dependencies": task.dependencies,
            "mcp_tools": task.mcp_tools,
        }
        rows.append(row)
    return rows


def resolved_template(request: PlanningRequest) -> tuple[str, str]:
    """('genre/engine', engine) the plan is for: the previous version's, else resolved from the brief."""
    if request.previous is not None and request.previous.template and "/" in request.previous.template:
        template = request.previous.template
        return template, template.rsplit("/", 1)[1]
    brief = request.brief
    genre = resolve_genre(brief.genre).key
    engine = resolve_engine(brief.engine, brief.platforms).key
    return f"{genre}/{engine}", engine


def planning_prompt(request: PlanningRequest, *, engine: str, catalogue: Catalogue, schema_hint: str = "") -> str:
    """The user prompt for a proposal or a revision."""
    prompts = load_prompts()
    context = {k: v for k, v in (request.context or {}).items() if k != "progress"}
    values = {
        "brief": json.dumps(request.brief.model_dump(exclude_none=True), ensure_ascii=False, indent=1),
        "context": _compact(context, 6000) if context else "(none yet)",
        "engine": engine,
        "catalogue": _catalogue_text(catalogue, engine),
        "schema_hint": schema_hint,
    }
    previous = request.previous
    if previous is None:
        return prompts.render("propose", **values)
    shown: dict[str, Any] = {"summary": previous.summary, "tasks": plan_as_llm_tasks(previous)}
    if previous.milestones:
        shown["milestones"] = [m.model_dump() for m in previous.milestones]
    feedback = request.feedback.text if request.feedback and request.feedback.text else "(no free text)"
    return prompts.render(
        "revise",
        **values,
        version="(base)",
        previous=json.dumps(shown, ensure_ascii=False, separators=(",", ":")),
        feedback=feedback,
        highest_code=f"T-{previous.highest_code:03d}",
    )


class LLMPlanner:
    """Plans with a language model; every answer passes the gateway's rules or goes back for repair."""

    name = "llm"

    def __init__(self, config: LLMConfig | None = None, *, model: Any = None, catalogue: Catalogue | None = None):
        if config is None:
            from gateway.app.config import get_settings

            config = LLMConfig.from_settings(get_settings())
        self.config = config
        self.runner = LLMRunner(config, model=model)
        self.catalogue = catalogue or load_catalogue()
        _preload(config.provider)

    def propose(self, request: PlanningRequest) -> PlanDraft:
        """The synchronous form (for scripts): runs the model in its own event loop."""
        return asyncio.run(self.draft(request)).draft

    def prepare(self, request: PlanningRequest) -> PlanningRequest:
        """The request the model sees: structured edits in the feedback are applied first, without AI."""
        feedback = request.feedback
        if feedback is None or not feedback.edits or request.previous is None:
            return request
        from gateway.app.planner.edits import revise
        from gateway.app.planner.models import Feedback

        edited = revise(
            previous=request.previous,
            brief=request.brief,
            feedback=Feedback(text=None, edits=feedback.edits),
            catalogue=self.catalogue,
        )
        return request.model_copy(update={"previous": edited, "feedback": Feedback(text=feedback.text, edits=[])})

    def prompt(self, request: PlanningRequest) -> str:
        """The user prompt this planner sends for a request."""
        request = self.prepare(request)
        _template, engine = resolved_template(request)
        return planning_prompt(
            request, engine=engine, catalogue=self.catalogue, schema_hint=self.runner.schema_hint(LLMPlan)
        )

    async def draft(self, request: PlanningRequest, *, progress: Progress | None = None) -> Drafted:
        """A valid draft and its provenance, or PlanningFailed with the last answer's problems."""
        request = self.prepare(request)
        template, engine = resolved_template(request)
        check = Check(request=request, engine=engine, template=template, catalogue=self.catalogue)
        prompt = planning_prompt(
            request, engine=engine, catalogue=self.catalogue, schema_hint=self.runner.schema_hint(LLMPlan)
        )
        draft, provenance = await self.runner.run(
            instructions=load_prompts().texts["system"],
            prompt=prompt,
            output=LLMPlan,
            accept=check.convert,
            progress=progress,
        )
        return Drafted(draft, provenance)


__all__ = [
    "Check",
    "LLMConfig",
    "LLMPlan",
    "LLMPlanner",
    "LLMRunner",
    "build_model",
    "extract_json",
    "load_prompts",
    "planning_prompt",
    "price_of",
]
