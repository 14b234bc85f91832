"""gateway/app/services/memory.py: the project memory learns from completed tasks; progress is computed on read."""

import asyncio
import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from gateway.app.config import Settings, get_settings
from gateway.app.db import ContextDB, DatabaseManager, JobDB
from gateway.app.planner import Deliverable, Estimates, GameBrief, PlanDraft, TaskDraft
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import artifacts, contexts, plans, projects, task_execution
from gateway.app.storage import BlobStore
from gateway.app.worker import JobWorker
from tests.fake_llm import Answer, FakeLLM


def _task(code: str, idx: int, deliverable: str | None) -> TaskDraft:
    deliverables = (
        [Deliverable(name=deliverable, category="document", description="The game design document")]
        if deliverable
        else []
    )
    return TaskDraft(
        code=code,
        idx=idx,
        title=f"Task {code}",
        description="Write it down.",
        discipline="design",
        acceptance_criteria=["It exists"],
        deliverables=deliverables,
        estimates=Estimates(story_points=1, time_hours=1),
        priority=3,
    )


def _project(db: DatabaseManager) -> dict[str, int]:
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="mem", name="Mem", brief=GameBrief(genre="puzzle")))
        plans.propose(session=session, project_id="mem")
        draft = PlanDraft(summary="Two tasks", tasks=[_task("T-001", 0, "docs/design.md"), _task("T-002", 1, None)])
        version = plans.edit(session=session, project_id="mem", version=1, draft=draft).version
        plan = plans.accept(session=session, project_id="mem", version=version)
        return {t.code: t.id for t in plans.tasks_of(session=session, plan=plan)}  # type: ignore[misc]


def _complete(db: DatabaseManager, tmp_path: Path, task_id: int, *, with_file: bool) -> None:
    with db.get_session() as session:
        task_execution.claim(session=session, project_id="mem", task_id=task_id, agent_id="a", start=True)
    if with_file:
        artifacts.store_bytes(
            db,
            BlobStore(tmp_path / "blobs"),
            target=artifacts.FileTarget("mem", task_id, "document", "docs/design.md"),
            name="design.md",
            data=b"# Design\n\nA lantern in a castle.\n",
            max_bytes=1_000_000,
            actor="agent:a",
        )
    with db.get_session() as session:
        task_execution.complete(
            session=session, project_id="mem", task_id=task_id, summary="Done: cozy castle.", agent_id="a"
        )


def _globals(db: DatabaseManager) -> list[ContextDB]:
    with db.read_session() as session:
        return list(
            session.exec(
                select(ContextDB)
                .where(ContextDB.project_id == "mem", ContextDB.scope == "global")
                .order_by(col(ContextDB.version))
            ).all()
        )


def test_without_an_llm_a_rule_records_what_was_delivered_and_progress_is_computed_on_read(db, tmp_path):
    ids = _project(db)
    before = len(_globals(db))
    _complete(db, tmp_path, ids["T-002"], with_file=False)
    assert len(_globals(db)) == before  # a completion alone writes no context version
    with db.read_session() as session:
        row = contexts.get_active(session=session, project_id="mem")
        assert contexts.current_content(session, row)["progress"]["done_count"] == 1
    _complete(db, tmp_path, ids["T-001"], with_file=True)
    rows = _globals(db)
    assert len(rows) == before + 1
    memory = contexts.content_of(rows[-1])
    assert rows[-1].created_by == "system"
    assert memory["delivered"]["docs/design.md"] == {"what": "The game design document", "task": "T-001"}
    with db.read_session() as session:
        assert contexts.current_content(session, rows[-1])["progress"]["done_count"] == 2


def test_with_an_llm_a_job_distils_the_task_into_the_memory(db, tmp_path, fake_llm: FakeLLM, monkeypatch):
    for name, value in {
        "GATEWAY_LLM_MODEL": "memory-model",
        "GATEWAY_LLM_BASE_URL": fake_llm.base_url,
        "GATEWAY_DATABASE_URL": db.database_url,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    ids = _project(db)
    _complete(db, tmp_path, ids["T-001"], with_file=True)
    with db.read_session() as session:
        job = session.exec(select(JobDB).where(JobDB.kind == "memory")).one()
    fake_llm.queue(
        Answer(data={"delivered": [{"path": "docs/invented.md", "what": "?"}]}),  # not handed in: repaired
        Answer(
            data={
                "delivered": [{"path": "docs/design.md", "what": "The design: a lantern-lit castle"}],
                "decisions": ["The castle is cozy, not grim"],
                "conventions": {"docs": "Design notes live in docs/"},
                "open_questions": ["How many rooms?"],
            },
            think="The summary says cozy.",
        ),
    )
    settings = Settings(
        database_url=db.database_url,
        data_dir=tmp_path,
        llm_model="memory-model",
        llm_base_url=fake_llm.base_url,
        job_poll_interval_s=0.05,
    )
    assert asyncio.run(JobWorker(db, settings).run_once())
    with db.read_session() as session:
        assert session.get(JobDB, job.id).status == "done"
    row = _globals(db)[-1]
    memory = contexts.content_of(row)
    assert (row.created_by, row.source) == ("ai", "ai-generate")
    assert memory["delivered"]["docs/design.md"]["what"] == "The design: a lantern-lit castle"
    assert memory["decisions"][-1]["what"] == "The castle is cozy, not grim"
    assert memory["conventions"]["docs"] == "Design notes live in docs/"
    assert memory["open_questions"] == [{"question": "How many rooms?", "task": "T-001"}]
    assert "docs/invented.md" in json.dumps(fake_llm.requests[1])  # the problem went back to the model
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
