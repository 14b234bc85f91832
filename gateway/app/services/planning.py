"""Who plans and how the answer comes back: at once (the template planner: 201 and the version), or as a job
(an LLM: 202 and the job, which the worker runs with nothing held and which writes the version when done).

REST, MCP and the CLI call these, so the same request gets the same kind of answer through every door.
"""

from typing import Any

import anyio.to_thread
from sqlmodel import Session

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager, JobDB, TaskPlanDB
from gateway.app.errors import InvalidInput
from gateway.app.planner import Feedback
from gateway.app.planner.base import SLOW_PLANNERS, Drafted, Planner, Progress, draft_with
from gateway.app.services import jobs, plans, projects


def chosen_planner(requested: str | None, settings: Settings) -> str:
    """The planner a request gets: the one it names, else the configured default."""
    planner = requested or settings.planner
    if planner in SLOW_PLANNERS and not settings.llm_configured:
        raise InvalidInput(
            "No LLM is configured: set GATEWAY_LLM_MODEL (and GATEWAY_LLM_PROVIDER, GATEWAY_LLM_BASE_URL), "
            "or ask for the template planner.",
            errors=[{"loc": ["body", "planner"], "msg": "no LLM is configured", "type": "llm_not_configured"}],
        )
    return planner


def request_proposal(
    *, session: Session, project_id: str, planner: str | None, settings: Settings, actor: str = "ai"
) -> TaskPlanDB | JobDB:
    """A proposal from the brief: the version itself (template), or a queued job (LLM)."""
    kind = chosen_planner(planner, settings)
    if kind not in SLOW_PLANNERS:
        return plans.propose(session=session, project_id=project_id, planner=kind, actor=actor)
    projects.get(session=session, project_id=project_id)
    job = jobs.submit(
        session,
        project_id=project_id,
        kind="propose",
        request={"planner": kind},
        base_version=None,
        actor=actor,
        max_attempts=settings.job_max_attempts,
    )
    session.commit()
    return job


def request_revision(
    *,
    session: Session,
    project_id: str,
    version: int,
    feedback: Feedback,
    planner: str | None,
    settings: Settings,
    actor: str = "user",
) -> TaskPlanDB | JobDB:
    """A revision from feedback: a job when an LLM reads free text; otherwise the version at once.

    Structured edits alone never need an AI: they are applied at once, whatever planner is configured.
    """
    kind = chosen_planner(planner, settings) if (planner or feedback.text) else "template"
    if kind not in SLOW_PLANNERS or not feedback.text:
        return plans.revise(
            session=session, project_id=project_id, version=version, feedback=feedback, planner="template", actor=actor
        )
    plans.get(session=session, project_id=project_id, version=version)  # a wrong version is a 404 now
    job = jobs.submit(
        session,
        project_id=project_id,
        kind="revise",
        request={"planner": kind, "version": version, "feedback": feedback.model_dump(mode="json")},
        base_version=version,
        actor=actor,
        max_attempts=settings.job_max_attempts,
    )
    session.commit()
    return job


async def run_planning_job(
    db: DatabaseManager, job: JobDB, *, planner: Planner, worker: str, progress: Progress | None = None
) -> int:
    """Run a proposal or revision job: read, plan with nothing held, then write the version and finish the job
    in one transaction (only if this worker still holds the job). Returns the version written."""
    request = jobs.request_of(job)
    feedback = Feedback.model_validate(request["feedback"]) if request.get("feedback") else None
    version = request.get("version")

    def read() -> plans.PlanningInputs:
        with db.get_session() as session:
            return plans.planning_inputs(session=session, project_id=job.project_id, version=version, feedback=feedback)

    inputs = await anyio.to_thread.run_sync(read)
    drafted: Drafted = await draft_with(planner, inputs.request, progress=progress)
    if progress is not None:
        await progress({"step": "writing", "message": "storing the new version"})

    def write() -> int:
        with db.get_session() as session:
            held = jobs.holds(session, job_id=job.id, worker=worker)
            plan = plans.store_draft(
                session, inputs=inputs, drafted=drafted, created_by="ai", actor=job.actor, feedback=feedback
            )
            jobs.mark_done(session, held, plan_version=plan.version, provenance=drafted.provenance.model_dump())
            session.commit()
            return plan.version

    return await anyio.to_thread.run_sync(write)


def job_failure(exc: BaseException) -> dict[str, Any]:
    """What a failed job says about why (never a secret: the planner scrubs keys from its messages)."""
    from gateway.app.planner.base import PlanningFailed

    if isinstance(exc, PlanningFailed):
        error: dict[str, Any] = {"type": "planning-failed", "detail": exc.reason, "problems": exc.problems}
        if exc.provenance is not None:
            error["provenance"] = exc.provenance.model_dump()
        return error
    if isinstance(exc, plans.StaleInputs):
        return {
            "type": "conflict",
            "detail": f"Conflict: {exc}. Nothing was written; revise the current version instead.",
        }
    return {"type": "internal-error", "detail": f"The job failed unexpectedly ({type(exc).__name__}); see the logs."}


def describe(result: TaskPlanDB | JobDB) -> dict[str, Any]:
    """A short answer for agents: the version written, or the job to follow."""
    if isinstance(result, JobDB):
        return {"job": jobs.view(result), "follow": "get_job(job_id) until its status is done, failed or cancelled"}
    return {
        "version": result.version,
        "status": result.status,
        "summary": result.summary,
        "provenance": result.provenance,
    }


# --- The connected agent as the planner -----------------------------------------------------------------
# An agent (Claude Code, Cursor, Codex…) drafts the plan itself: it reads everything a planner reads, sends a
# whole draft, and the draft passes the same rules as an LLM's (the validator's and the LLM planner's own).


def _agent_check(inputs: plans.PlanningInputs) -> Any:
    from gateway.app.planner import load_catalogue
    from gateway.app.planner.llm import Check, resolved_template

    template, engine = resolved_template(inputs.request)
    return Check(request=inputs.request, engine=engine, template=template, catalogue=load_catalogue())


def drafting_kit(
    *, session: Session, project_id: str, version: int | None = None, feedback: str | None = None
) -> dict[str, Any]:
    """Everything needed to draft a plan: brief, context, schema, rules, the catalogue entries that fit the
    engine, and, when revising, the version and the feedback on it."""
    from gateway.app.planner import load_catalogue
    from gateway.app.planner.llm import LLMPlan, load_prompts, output_schema, plan_as_llm_tasks

    inputs = plans.planning_inputs(
        session=session,
        project_id=project_id,
        version=version,
        feedback=Feedback(text=feedback) if feedback else None,
    )
    check = _agent_check(inputs)
    catalogue = load_catalogue()
    servers = [s.as_dict() for s in catalogue.servers if not s.engines or check.engine in s.engines]
    for server in servers:
        server.pop("homepage", None)
        server.pop("package", None)
    request = inputs.request
    kit: dict[str, Any] = {
        "project_id": project_id,
        "mode": "revise" if request.previous is not None else "propose",
        "brief": request.brief.model_dump(exclude_none=True),
        "context": {k: v for k, v in (request.context or {}).items() if k != "progress"},
        "engine": check.engine,
        "template": check.template,
        "rules": load_prompts().texts["system"],
        "schema": output_schema(LLMPlan),
        "catalogue": servers,
        "submit": "Call submit_plan_draft with the whole plan (this schema)"
        + (f", version={inputs.base_version} and the feedback text" if inputs.base_version else "")
        + ". Every problem comes back at once; fix them all and send the whole plan again. A person accepts it.",
    }
    if request.previous is not None:
        kit["previous"] = {
            "version": inputs.base_version,
            "summary": request.previous.summary,
            "highest_code": request.previous.highest_code,
            "tasks": plan_as_llm_tasks(request.previous),
            "how_to_revise": load_prompts()
            .texts["revise"]
            .split("How to revise:", 1)[1]
            .split("MCP tool", 1)[0]
            .strip(),
        }
        kit["feedback"] = feedback
    return kit


def submit_agent_draft(
    *,
    session: Session,
    project_id: str,
    agent_id: str,
    draft: dict[str, Any],
    version: int | None = None,
    feedback: str | None = None,
) -> TaskPlanDB:
    """Validate an agent's whole draft with the planners' rules and store it as a proposal (created by the AI,
    planner `agent:<id>`); InvalidInput listing every problem otherwise (nothing stored)."""
    from pydantic import ValidationError

    from gateway.app.planner.base import Provenance
    from gateway.app.planner.llm import LLMPlan

    kept = Feedback(text=feedback) if feedback else None
    inputs = plans.planning_inputs(session=session, project_id=project_id, version=version, feedback=kept)
    try:
        plan = LLMPlan.model_validate(draft)
    except ValidationError as exc:
        errors = [
            {"loc": ["draft", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput(f"The draft does not follow the schema ({len(errors)} problems).", errors=errors) from None
    result, problems, codes = _agent_check(inputs).convert(plan)
    if problems:
        located = [p | {"where": _where(p, codes)} for p in problems]
        raise InvalidInput(f"The draft breaks {len(problems)} rule(s); nothing was stored.", errors=located)
    drafted = Drafted(result, Provenance(planner=f"agent:{agent_id}"))
    try:
        stored = plans.store_draft(
            session, inputs=inputs, drafted=drafted, created_by="ai", actor=f"agent:{agent_id}", feedback=kept
        )
    except plans.StaleInputs as exc:
        session.rollback()
        from gateway.app.errors import Conflict

        raise Conflict(f"{exc}; read the kit again and revise the current version.") from None
    session.commit()
    return stored


def _where(problem: dict[str, Any], codes: list[str]) -> str:
    loc = problem.get("loc", [])
    if len(loc) >= 2 and loc[0] == "tasks" and isinstance(loc[1], int) and loc[1] < len(codes):
        return codes[loc[1]]
    return "plan"
