"""gateway/app/db.py's JSONText: JSON columns read and write Python values, and the text they store is the text
the hand-written `json.dumps` calls stored, so databases (and archives) from before read back unchanged."""

import json

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, col, select

from gateway.app.db import EventDB, JobDB, JSONText, ProjectDB, TaskPlanDB
from gateway.app.schemas.projects import ProjectCreate, ProjectUpdate
from gateway.app.services import archives, jobs, plans, projects

VALUE = {"title": "Niño's Café", "tags": ["a", "ü"], "n": 1.5, "none": None}


def _pretty(value):  # json.dumps(value, ensure_ascii=False): the default separators
    return json.dumps(value, ensure_ascii=False)


def _compact(value):  # pydantic's model_dump_json(), or json.dumps with compact separators
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# How each column was written by hand before it had a type (the writer named on the right).
WRITTEN_BEFORE = {
    ("projects", "brief"): _compact,  # brief.model_dump_json()
    ("tasks", "acceptance_criteria"): _pretty,  # plans._task_values
    ("tasks", "dependencies"): _pretty,
    ("artifacts", "validation_report"): _pretty,  # artifacts._report_json
    ("task_plans", "feedback"): _compact,  # feedback.model_dump_json()
    ("task_plans", "details"): _pretty,
    ("task_plans", "milestones"): _pretty,
    ("task_plans", "provenance"): _compact,  # provenance.model_dump_json()
    ("events", "data"): lambda v: json.dumps(v, separators=(",", ":"), default=str),  # outbox.record
    ("idempotency_keys", "response_headers"): json.dumps,  # idempotency.finish
    ("jobs", "request"): _pretty,
    ("jobs", "error"): _pretty,
    ("jobs", "progress"): _pretty,
}


def _json_columns():
    return {
        (table.name, column.name): column
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, JSONText)
    }


def test_every_json_text_column_is_typed_and_none_of_the_seeds_str_columns_is():
    assert set(_json_columns()) == set(WRITTEN_BEFORE)
    # The seed types these `str` (JSON text): its contract holds, they stay text.
    seed = {("contexts", "content"), ("tasks", "mcp_tools"), ("tasks", "deliverables"), ("tasks", "estimates")}
    assert not seed & set(_json_columns())


@pytest.mark.parametrize("key", sorted(WRITTEN_BEFORE), ids=".".join)
def test_the_stored_text_is_byte_for_byte_what_was_written_by_hand(db, key):
    column = _json_columns()[key]
    stored = column.type.process_bind_param(VALUE, db.engine.dialect)
    assert stored == WRITTEN_BEFORE[key](VALUE)
    assert column.type.process_result_value(stored, db.engine.dialect) == VALUE
    assert column.type.process_bind_param(None, db.engine.dialect) is None  # SQL NULL, not the text null


def test_rows_written_as_text_before_read_back_as_values(db):
    with db.get_session() as session:
        projects.create(
            session=session, data=ProjectCreate(id="old", name="Old", brief={"title": "Old", "genre": "rpg"})
        )
    with db.engine.begin() as connection:  # as an older gateway left them
        connection.execute(
            text("UPDATE projects SET brief = :brief WHERE id = 'old'"),
            {"brief": '{"title":"Old","genre":"puzzle","engine":"godot"}'},
        )
        connection.execute(text("UPDATE events SET data = :data WHERE project_id = 'old'"), {"data": '{"was":"text"}'})
    with db.read_session() as session:
        assert projects.get(session=session, project_id="old").brief["engine"] == "godot"
        assert {e.data["was"] for e in session.exec(select(EventDB).where(EventDB.project_id == "old")).all()} == {
            "text"
        }
        assert plans.brief_of(projects.get(session=session, project_id="old")).genre == "puzzle"
    with db.get_session() as session:  # a merge patch over the old text keeps the rest of the brief
        projects.update(session=session, project_id="old", data=ProjectUpdate(brief={"genre": "roguelike"}))
    with db.engine.connect() as connection:
        raw = connection.execute(text("SELECT brief FROM projects WHERE id = 'old'")).scalar_one()
    assert json.loads(raw)["engine"] == "godot"
    assert raw == _compact(json.loads(raw))


def test_a_new_value_is_written_and_queries_compare_the_stored_text(db):
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="p", name="P", brief={"title": "P"}))
    with db.get_session() as session:
        plans.propose(session=session, project_id="p")
    with db.get_session() as session:
        plan = session.exec(select(TaskPlanDB).where(TaskPlanDB.project_id == "p")).one()
        plan.details = {**(plan.details or {}), "marker": "digest-123"}  # a new value: written
        session.add(plan)
        session.commit()
    with db.read_session() as session:
        # LIKE on a JSON column compares the stored text (the string is not JSON-encoded first).
        found = session.exec(select(TaskPlanDB).where(col(TaskPlanDB.details).contains("digest-123"))).all()
        assert [p.details["marker"] for p in found] == ["digest-123"]


def test_job_values_round_trip(db):
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="j", name="J"))
    with db.get_session() as session:
        job = jobs.submit(
            session,
            project_id="j",
            kind="propose",
            request={"planner": "llm", "note": "é"},
            base_version=None,
            actor="user",
            max_attempts=1,
        )
        job_id = job.id
        session.commit()
    with db.read_session() as session:
        stored = session.get(JobDB, job_id)
        assert jobs.request_of(stored) == {"planner": "llm", "note": "é"}
        assert jobs.view(stored)["error"] is None


def test_archives_from_before_hold_json_columns_as_text_and_still_import(db):
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="a", name="A", brief={"title": "A", "genre": "rpg"}))
    with db.get_session() as session:
        plans.propose(session=session, project_id="a")
    with db.read_session() as session:
        archive = json.loads(json.dumps(archives.export_archive(session=session, project_id="a")))
    assert isinstance(archive["plans"][0]["details"], dict)
    old = json.loads(json.dumps(archive))
    for section, key in (("plans", "details"), ("plans", "provenance"), ("events", "data"), ("tasks", "dependencies")):
        for row in old[section]:
            row[key] = json.dumps(row[key]) if row[key] is not None else None
    old["project"]["brief"] = json.dumps(old["project"]["brief"])
    with db.get_session() as session:
        archives.import_archive(session=session, archive=old, project_id="b")
    with db.read_session() as session:
        again = archives.export_archive(session=session, project_id="b")
        assert session.get(ProjectDB, "b").brief == {**archive["project"]["brief"]}
    assert [p["details"] for p in again["plans"]] == [p["details"] for p in archive["plans"]]
    assert [e["data"] for e in again["events"]] == [e["data"] for e in archive["events"]]
