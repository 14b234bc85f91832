"""gateway/app/services/deliverables.py: one spelling per path, and which artifact satisfies which deliverable."""

import json

import pytest

from gateway.app.db import ArtifactDB, TaskDB
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import deliverables, projects
from gateway.app.validation.paths import normalise_path


@pytest.mark.parametrize(
    ("stated", "normalised"),
    [
        ("docs/x.md", "docs/x.md"),
        ("docs/./x.md", "docs/x.md"),
        ("./docs//x.md", "docs/x.md"),
        ("docs\\x.md", "docs/x.md"),
        (" docs/x.md ", "docs/x.md"),
        ("docs/x.md/", "docs/x.md"),
        ("project.godot", "project.godot"),
    ],
)
def test_one_spelling_per_path(stated, normalised):
    assert normalise_path(stated) == normalised


@pytest.mark.parametrize("stated", ["", ".", "/etc/passwd", "../x.md", "docs/../../x.md", "docs/../x.md", "C:\\x.md"])
def test_paths_outside_the_project_have_no_spelling(stated):
    assert normalise_path(stated) is None


@pytest.fixture
def task(db) -> int:
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="p", name="P"))
        row = TaskDB(
            project_id="p",
            title="Design",
            deliverables=json.dumps(
                [
                    {"name": "docs/./design.md", "category": "document", "required": True},
                    {"name": "CHANGELOG.md", "category": "document", "required": True},
                    {"name": "notes.md", "category": "document", "required": False},
                ]
            ),
        )
        session.add(row)
        session.commit()
        return row.id


def hand_in(db, task_id: int, path: str, status: str = "valid", name: str | None = None) -> int:
    with db.get_session() as session:
        row = ArtifactDB(
            project_id="p",
            task_id=task_id,
            name=name or path.rsplit("/", 1)[-1],
            path=path,
            category="document",
            validation_status=status,
        )
        session.add(row)
        session.commit()
        return row.id


def missing(db, task_id: int) -> list[dict]:
    with db.get_session() as session:
        return [m.as_dict() for m in deliverables.missing(session, session.get(TaskDB, task_id))]


def test_each_required_deliverable_needs_a_valid_file_at_its_path(db, task):
    assert [(m["path"], m["reason"]) for m in missing(db, task)] == [
        ("docs/design.md", "not_handed_in"),
        ("CHANGELOG.md", "not_handed_in"),
    ]
    hand_in(db, task, "docs/other.md")
    hand_in(db, task, "design.md")  # the right name in the wrong folder is another file
    assert len(missing(db, task)) == 2

    hand_in(db, task, "docs/design.md")
    hand_in(db, task, "release/CHANGELOG.md")  # the plan names only the file: its name is enough
    assert missing(db, task) == []


def test_the_latest_hand_in_at_a_path_decides(db, task):
    hand_in(db, task, "docs/design.md")
    hand_in(db, task, "CHANGELOG.md")
    broken = hand_in(db, task, "docs//design.md", status="invalid")
    assert missing(db, task) == [
        {
            "path": "docs/design.md",
            "name": "docs/design.md",
            "category": "document",
            "reason": "invalid",
            "artifact_id": broken,
        }
    ]
    hand_in(db, task, "docs/design.md")
    assert missing(db, task) == []


def test_an_artifact_named_like_a_bare_deliverable_counts(db, task):
    hand_in(db, task, "docs/design.md")
    hand_in(db, task, "upload-3f2a", name="CHANGELOG.md")
    assert missing(db, task) == []
