"""The project memory: what an agent needs to know, kept up to date as tasks are completed.

The global context holds the game, conventions, decisions, a map of what has been delivered (`delivered`:
path → what it is) and open questions. When a task is done, the memory learns from it: with an LLM
configured, a `memory` job distils the task's summary and artifacts (`source: ai-generate`, `created_by:
ai`); without one, a rule-based update records the task's valid deliverables (`created_by: system`).
Progress counters are not memory: they are computed when the context is read (`contexts.with_progress`).
"""

import json
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, Field
from sqlmodel import Session

from gateway.app import task_states
from gateway.app.config import Settings, get_settings
from gateway.app.db import DatabaseManager, JobDB, ProjectDB, TaskDB, utc_now
from gateway.app.services import artifacts as artifact_service
from gateway.app.services import contexts, jobs, lookups


class DeliveredFile(BaseModel):
    """A file the project now has."""

    path: str = Field(description="Project-relative path, as handed in")
    what: str = Field(description="What it is, in a sentence")


class MemoryUpdate(BaseModel):
    """What a completed task adds to the project memory."""

    delivered: list[DeliveredFile] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list, description="Decisions the summary states")
    conventions: dict[str, str] = Field(default_factory=dict, description="Rules to follow from now on")
    open_questions: list[str] = Field(default_factory=list, description="What the summary leaves undecided")


def _deliverables(task: TaskDB) -> dict[str, str]:
    return {d["name"]: d.get("description") or "" for d in task_states.deliverables_of(task)}


def _valid_files(session: Session, task: TaskDB) -> list[dict[str, Any]]:
    assert task.id is not None  # a stored task
    rows = artifact_service.by_task(session, [task.id]).get(task.id, [])
    return [a for a in rows if a["validation_status"] == "valid"]


def after_completion(session: Session, *, project: ProjectDB, task: TaskDB, actor: str) -> None:
    """Inside the completion's transaction: queue the LLM's distillation, or record the deliverables by rule."""
    settings = get_settings()
    if settings.llm_configured and settings.jobs_enabled:
        jobs.submit(
            session,
            project_id=project.id,
            kind="memory",
            request={"planner": "llm", "task_id": task.id},
            base_version=None,
            actor=actor,
            max_attempts=settings.job_max_attempts,
        )
        return
    described = _deliverables(task)
    files = _valid_files(session, task)
    if not files:
        return
    update = MemoryUpdate(
        delivered=[
            DeliveredFile(
                path=f["path"] or f["name"],
                what=described.get(f["path"])
                or described.get(f["name"])
                or f"{f['category'] or 'file'} handed in for {task.code}: {task.title}",
            )
            for f in files
        ]
    )
    _apply(session, project=project, task=task, update=update, by="system", actor="system")


def _apply(session: Session, *, project: ProjectDB, task: TaskDB, update: MemoryUpdate, by: str, actor: str) -> None:
    current = contexts.find_active(session, project.id, None)
    content = contexts.content_of(current) if current is not None else {}
    delivered = dict(content.get("delivered") or {})
    for item in update.delivered:
        delivered[item.path] = {"what": item.what, "task": task.code}
    content["delivered"] = delivered
    when = utc_now().isoformat()
    decisions = list(content.get("decisions") or [])
    decisions += [{"what": text, "task": task.code, "by": by, "when": when} for text in update.decisions]
    content["decisions"] = decisions
    conventions = dict(content.get("conventions") or {})
    conventions.update(update.conventions)
    content["conventions"] = conventions
    content["open_questions"] = list(content.get("open_questions") or []) + [
        {"question": q, "task": task.code} for q in update.open_questions
    ]
    content.setdefault("progress", {"plan": None, "total": 0, "done": [], "in_progress": [], "next": []})
    parts = [f"{len(update.delivered)} file(s)"]
    if update.decisions:
        parts.append(f"{len(update.decisions)} decision(s)")
    if update.conventions:
        parts.append(f"{len(update.conventions)} convention(s)")
    if update.open_questions:
        parts.append(f"{len(update.open_questions)} open question(s)")
    contexts.append(
        session,
        project=project,
        task_id=None,
        content=content,
        source="ai-generate",
        created_by=by,
        actor=actor,
        summary=f"Memory from {task.code}: " + ", ".join(parts),
        limit_size=False,
    )


async def run_memory_job(
    db: DatabaseManager, job: JobDB, *, settings: Settings, worker: str, progress: Any = None
) -> None:
    """Ask the LLM what the completed task adds to the memory, check it, and write it with the job's end."""
    from gateway.app.planner import llm

    # The SDKs are imported in a thread: a first import inside the event loop would stall every request.
    await anyio.to_thread.run_sync(llm._preload, settings.llm_provider)
    LLMConfig, LLMRunner, load_prompts = llm.LLMConfig, llm.LLMRunner, llm.load_prompts
    task_id = jobs.request_of(job)["task_id"]

    def read() -> dict[str, Any]:
        with db.read_session() as session:
            task = lookups.get_task(session=session, project_id=job.project_id, task_id=task_id)
            current = contexts.find_active(session, job.project_id, None)
            memory = {k: v for k, v in (contexts.content_of(current) if current else {}).items() if k != "progress"}
            files = artifact_service.by_task(session, [task_id]).get(task_id, [])
            return {"task": task, "memory": memory, "files": files}

    seen = await anyio.to_thread.run_sync(read)
    task: TaskDB = seen["task"]
    known = {f["path"] for f in seen["files"]} | {f["name"] for f in seen["files"]} | set(_deliverables(task))
    runner = LLMRunner(LLMConfig.from_settings(settings))
    prompt = load_prompts().render(
        "memory",
        code=task.code,
        title=task.title,
        summary=task.summary or "(none)",
        artifacts=json.dumps(seen["files"], ensure_ascii=False) if seen["files"] else "(none)",
        memory=json.dumps(seen["memory"], ensure_ascii=False)[:6000],
        schema_hint=runner.schema_hint(MemoryUpdate),
    )

    def accept(update: MemoryUpdate) -> tuple[MemoryUpdate, list[dict[str, Any]], list[str]]:
        problems = [
            {"loc": ["delivered", i, "path"], "msg": f"{d.path!r} is not a file this task handed in", "type": "path"}
            for i, d in enumerate(update.delivered)
            if d.path not in known
        ]
        return update, problems, []

    update, _provenance = await runner.run(
        instructions=load_prompts().texts["memory_system"],
        prompt=prompt,
        output=MemoryUpdate,
        accept=accept,
        progress=progress,
    )

    def write() -> None:
        with db.get_session() as session:
            held = jobs.holds(session, job_id=job.id, worker=worker)
            project = lookups.lock_project(session=session, project_id=job.project_id)
            fresh = lookups.get_task(session=session, project_id=job.project_id, task_id=task_id)
            _apply(session, project=project, task=fresh, update=update, by="ai", actor="ai")
            jobs.mark_done(session, held, provenance=_provenance.model_dump())
            session.commit()

    await anyio.to_thread.run_sync(write)
