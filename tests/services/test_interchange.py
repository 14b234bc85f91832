"""gateway/app/services/interchange.py and archives.py: imports become proposed versions, exports read back."""

import csv
import io
import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from sqlmodel import func, select

from gateway.app.db import ArtifactDB, ContextDB, EventDB, ProjectDB, TaskDB, TaskPlanDB
from gateway.app.errors import AlreadyExists, InvalidInput, NotFound
from gateway.app.interchange import SourceFile
from gateway.app.planner import GameBrief
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import archives, interchange, plans, projects

FIXTURES = Path(__file__).parents[1] / "app" / "interchange" / "fixtures"
BRIEF = GameBrief(
    title="Star Courier",
    pitch="A courier leaps across a collapsing space station.",
    genre="platformer-2d",
    engine="godot",
    scope="prototype",
)


def fixture(name: str) -> list[SourceFile]:
    return [SourceFile(name=name, content=(FIXTURES / name).read_text(encoding="utf-8"))]


def new_project(db, project_id: str = "courier") -> None:
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id=project_id, name="Star Courier", brief=BRIEF))


def counts(db, project_id: str) -> tuple[int, int, int]:
    with db.read_session() as session:
        versions = session.exec(select(func.count()).where(TaskPlanDB.project_id == project_id)).one()
        task_rows = session.exec(select(func.count()).where(TaskDB.project_id == project_id)).one()
        head = session.exec(select(func.max(EventDB.seq)).where(EventDB.project_id == project_id)).one()
    return versions, task_rows, head


def test_import_is_a_proposed_version_with_progress_and_the_same_file_again_changes_nothing(db):
    new_project(db)
    with db.get_session() as session:
        plan, _imported, created = interchange.import_plan(
            session=session, project_id="courier", files=fixture("taskmaster-tagged.json")
        )
        assert created
        assert (plan.version, plan.status, plan.created_by) == (1, "proposed", "user")
        details = plan.details
        assert details["planner"] == "import:taskmaster"
        assert details["import"]["files"] == ["taskmaster-tagged.json"]
        assert any("closes a cycle" in line for line in details["import"]["unmapped"])
        statuses = {t.title: t.status for t in plans.tasks_of(session=session, plan=plan)}
    assert statuses["Set up the Godot project"] == "done"
    assert statuses["Level progression save"] == "blocked"
    assert statuses["Record jump sound"] == "cancelled"
    assert statuses["Player movement"] == "pending"
    before = counts(db, "courier")
    with db.get_session() as session:
        again, _, created = interchange.import_plan(
            session=session, project_id="courier", files=fixture("taskmaster-tagged.json")
        )
    assert not created
    assert again.version == 1
    assert counts(db, "courier") == before
    # Accepting it: the carried progress stands, and the current task is the first ready one.
    with db.get_session() as session:
        plans.accept(session=session, project_id="courier", version=1)
        project = session.get(ProjectDB, "courier")
        current = session.get(TaskDB, project.current_task_id)
    assert current.status == "pending"
    assert current.title == "Variable jump"


def test_a_malformed_file_writes_nothing(db):
    new_project(db)
    before = counts(db, "courier")
    with db.get_session() as session, pytest.raises(InvalidInput, match="line 6"):
        interchange.import_plan(session=session, project_id="courier", files=fixture("speckit-bad-id.md"))
    assert counts(db, "courier") == before
    with db.get_session() as session, pytest.raises(NotFound):
        interchange.import_plan(session=session, project_id="nobody", files=fixture("speckit-tasks.md"))


def test_json_export_imports_back_into_the_same_plan(db):
    new_project(db)
    with db.get_session() as session:
        plans.propose(session=session, project_id="courier")
        exported, media_type, filename = interchange.export_plan(
            session=session, project_id="courier", version=1, format="json"
        )
    assert media_type == "application/json"
    assert filename == "courier-plan-v1.json"
    with db.get_session() as session:
        plan, _, created = interchange.import_plan(
            session=session, project_id="courier", files=[SourceFile("plan.json", exported)], format="gateway"
        )
        assert created
        assert plan.version == 2
        again, _, _ = interchange.export_plan(session=session, project_id="courier", version=2, format="json")
        diff = plans.diff(session=session, project_id="courier", from_version=1, to_version=2)
    assert again == exported
    assert diff["added"] == diff["removed"] == diff["changed"] == diff["moved"] == []


def test_markdown_export_renders_and_reads(db):
    new_project(db)
    with db.get_session() as session:
        plans.propose(session=session, project_id="courier")
        text, media_type, _ = interchange.export_plan(
            session=session, project_id="courier", version=1, format="markdown"
        )
        tasks = plans.tasks_of(session=session, plan=plans.get(session=session, project_id="courier", version=1))
    assert media_type.startswith("text/markdown")
    tokens = MarkdownIt().enable("table").parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0] == "Star Courier — plan version 1"
    assert "The game" in headings
    assert "A courier leaps across a collapsing space station." in text  # the game's summary, from the context
    for task in tasks:
        assert f"{task.code} · {task.title}" in headings
    html = MarkdownIt().enable("table").render(text)
    assert html.count("<tr>") == len(tasks) + 1  # the overview table: a header and one row per task
    first_with_deps = next(t for t in tasks if t.dependencies)
    assert f"depends on {', '.join(first_with_deps.dependencies)}" in text
    deliverable = json.loads(tasks[0].deliverables)[0]["name"]
    assert f"`{deliverable}`" in text
    points = sum(json.loads(t.estimates)["story_points"] for t in tasks)
    assert f"{points} story points" in text


def test_csv_export_has_one_row_per_task(db):
    new_project(db)
    with db.get_session() as session:
        plans.propose(session=session, project_id="courier")
        text, media_type, _ = interchange.export_plan(session=session, project_id="courier", version=1, format="csv")
        tasks = plans.tasks_of(session=session, plan=plans.get(session=session, project_id="courier", version=1))
        with pytest.raises(InvalidInput, match="Unknown export format"):
            interchange.export_plan(session=session, project_id="courier", version=1, format="docx")
    assert media_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["code"] for row in rows] == [t.code for t in tasks]
    assert rows[1]["dependencies"] == "; ".join(tasks[1].dependencies)
    assert float(rows[0]["time_hours"]) == json.loads(tasks[0].estimates)["time_hours"]


def _strip_ids(rows: list[dict]) -> list[dict]:
    ids = {"id", "plan_id", "task_id", "project_id", "based_on_id", "event_id"}
    return [{k: v for k, v in row.items() if k not in ids} for row in rows]


def test_archive_round_trip_under_another_id(db):
    new_project(db)
    with db.get_session() as session:
        plans.propose(session=session, project_id="courier")
        plans.revise(
            session=session, project_id="courier", version=1, feedback=plans.Feedback(text="add a level editor")
        )
        plans.accept(session=session, project_id="courier", version=2)
        archive = archives.export_archive(session=session, project_id="courier")
    assert archive["format"] == "gateway-archive"
    with db.get_session() as session, pytest.raises(AlreadyExists):
        archives.import_archive(session=session, archive=archive)
    with db.get_session() as session:
        copy = archives.import_archive(session=session, archive=json.loads(json.dumps(archive)), project_id="copy")
        assert copy.status == "active"
        again = archives.export_archive(session=session, project_id="copy")
        active = session.get(TaskPlanDB, copy.active_plan_id)
        current = session.get(TaskDB, copy.current_task_id)
        contexts = session.exec(select(ContextDB).where(ContextDB.project_id == "copy")).all()
        artifacts = session.exec(select(ArtifactDB).where(ArtifactDB.project_id == "copy")).all()
    assert (active.project_id, active.version) == ("copy", 2)
    assert current.project_id == "copy"
    assert current.plan_id == active.id
    assert all(c.task_id is None or c.task_id != 0 for c in contexts)
    assert artifacts == []
    for section in ("plans", "tasks", "contexts", "artifacts", "events"):
        assert _strip_ids(again[section]) == _strip_ids(archive[section]), section
    assert again["project"]["event_seq"] == archive["project"]["event_seq"]
    # Based-on links point inside the copy.
    assert again["plans"][1]["based_on_id"] == again["plans"][0]["id"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda a: a.update(format="zip"), "format"),
        (lambda a: a.update(version=9), "version"),
        (lambda a: a.update(tasks="x"), "tasks"),
        (lambda a: a["tasks"][0].update(plan_id=999_999), "tasks.0.plan_id: names a plan"),
        (lambda a: a["contexts"][0].update(task_id=999_999), "contexts.0.task_id: names a task"),
        (lambda a: a["plans"][0].update(details="{not json"), "plans.0.details: not JSON"),
        (lambda a: a["events"].reverse(), "seq"),
        (lambda a: a["plans"][0].update(created_at="yesterday"), "plans.0.created_at"),
        (lambda a: a.update(project=None), "project"),
    ],
)
def test_a_malformed_archive_writes_nothing(db, mutate, where):
    new_project(db)
    with db.get_session() as session:
        plans.propose(session=session, project_id="courier")
        archive = archives.export_archive(session=session, project_id="courier")
    mutate(archive)
    with db.get_session() as session, pytest.raises(InvalidInput) as refused:
        archives.import_archive(session=session, archive=archive, project_id="copy")
    assert where in refused.value.detail
    with db.read_session() as session:
        assert session.get(ProjectDB, "copy") is None
        assert session.exec(select(func.count()).where(TaskDB.project_id == "copy")).one() == 0
