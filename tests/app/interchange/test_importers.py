"""gateway/app/interchange: each importer fed files in its tool's documented format, and malformed ones."""

import json
from pathlib import Path

import pytest

from gateway.app.errors import InvalidInput
from gateway.app.interchange import SourceFile, file_digest, parse
from gateway.app.interchange.formats import detect
from gateway.app.planner import ensure_valid, load_catalogue

FIXTURES = Path(__file__).parent / "fixtures"


def source(name: str) -> SourceFile:
    return SourceFile(name=name, content=(FIXTURES / name).read_text(encoding="utf-8"))


def backlog_files() -> list[SourceFile]:
    return [SourceFile(p.name, p.read_text(encoding="utf-8")) for p in sorted((FIXTURES / "backlog").glob("*.md"))]


def by_title(imported) -> dict:
    return {task.title: task for task in imported.draft.tasks}


def test_task_master_tags_subtasks_statuses_and_a_cycle():
    imported = parse([source("taskmaster-tagged.json")])
    assert imported.tool == "taskmaster"
    ensure_valid(imported.draft, load_catalogue())  # what the gateway stores passes every plan rule
    tasks = by_title(imported)
    assert len(tasks) == 9  # 6 tasks + 3 subtasks, both tags
    code = {title: task.code for title, task in tasks.items()}
    # A subtask is a task of its own; its parent depends on it; a sibling dependency is kept.
    assert code["Horizontal movement"] in tasks["Player movement"].dependencies
    assert code["Variable jump"] in tasks["Player movement"].dependencies
    assert code["Horizontal movement"] in tasks["Variable jump"].dependencies
    # A subtask waits for what its parent waits for.
    assert code["Set up the Godot project"] in tasks["Horizontal movement"].dependencies
    # Priorities: critical 5, high 4, medium 3, low 2; complexity 7 gives 5 points.
    assert tasks["Level progression save"].priority == 5
    assert tasks["Set up the Godot project"].priority == 4
    assert tasks["Level select screen"].priority == 2
    assert tasks["Player movement"].estimates.story_points == 5
    # The test strategy is the acceptance criterion; details are in the description.
    assert tasks["Set up the Godot project"].acceptance_criteria == [
        "Test strategy: The project opens in Godot 4 without errors."
    ]
    assert "Use scenes/, scripts/ and assets/ folders." in tasks["Set up the Godot project"].description
    # Statuses carried as progress: done, blocked, cancelled; in-progress and deferred reported.
    assert imported.progress[code["Set up the Godot project"]]["status"] == "done"
    assert imported.progress[code["Horizontal movement"]]["status"] == "done"
    assert imported.progress[code["Level progression save"]]["status"] == "blocked"
    assert imported.progress[code["Record jump sound"]]["status"] == "cancelled"
    assert code["Player movement"] not in imported.progress
    unmapped = "\n".join(imported.unmapped)
    assert "status 'in-progress'" in unmapped
    assert "status 'deferred'" in unmapped
    assert "'assignee'" in unmapped
    # The cycle 3 → 5 → 4 → 3 is broken at one edge, and said so.
    assert "closes a cycle" in unmapped
    cycle = [code["Level exits"], code["Level select screen"], code["Level progression save"]]
    edges = {t.code: set(t.dependencies) & set(cycle) for t in imported.draft.tasks if t.code in cycle}
    assert sum(len(deps) for deps in edges.values()) == 2
    # Each tag is a milestone.
    assert [(m.key, m.title, m.goal) for m in imported.draft.milestones] == [
        ("master", "master", "Tasks for master context"),
        ("sound-pass", "sound-pass", "Audio polish"),
    ]
    assert tasks["Record jump sound"].milestone == "sound-pass"
    assert tasks["Player movement"].milestone == "master"
    # Dependencies first in idx order.
    position = {t.code: t.idx for t in imported.draft.tasks}
    assert all(position[d] < t.idx for t in imported.draft.tasks for d in t.dependencies)


def test_task_master_one_tag_and_the_legacy_layout():
    only = parse([source("taskmaster-tagged.json")], options={"tag": "sound-pass"})
    assert [t.title for t in only.draft.tasks] == ["Record jump sound", "Jump and land sounds"]
    legacy = parse([source("taskmaster-legacy.json")])
    assert legacy.tool == "taskmaster"
    assert [t.dependencies for t in legacy.draft.tasks] == [[], ["T-001"]]
    with pytest.raises(InvalidInput, match="no such tag"):
        parse([source("taskmaster-tagged.json")], options={"tag": "nope"})


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("taskmaster-bad-syntax.json", "line 4, column 32"),
        ("taskmaster-no-title.json", "master.tasks[1].title"),
    ],
)
def test_task_master_malformed_files_are_refused_with_where(name, where):
    with pytest.raises(InvalidInput) as refused:
        parse([source(name)], format="taskmaster")
    assert where in refused.value.detail
    assert refused.value.extensions["errors"][0]["loc"] == [name, where]


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"master": {"tasks": [{"id": 1, "title": "A", "priority": "urgent"}]}}', "master.tasks[0].priority"),
        ('{"master": {"tasks": [{"id": 1, "title": "A"}, {"id": 1, "title": "B"}]}}', "master.tasks[1].id"),
        ('{"master": {"tasks": [{"id": 1, "title": "A", "dependencies": "2"}]}}', "master.tasks[0].dependencies"),
        ('{"master": {"tasks": [{"title": "A"}]}}', "master.tasks[0].id"),
        ('{"master": ["not", "a", "tag"]}', "master"),
        ('["tasks"]', "top level"),
        ('{"master": {"tasks": [{"id": 1, "title": "A", "subtasks": [{"id": 1}]}]}}', "subtasks[0].title"),
        ('{"master": {"tasks": []}}', "tasks"),
    ],
)
def test_task_master_wrong_keys_are_named(content, where):
    with pytest.raises(InvalidInput) as refused:
        parse([SourceFile("tasks.json", content)], format="taskmaster")
    assert where in refused.value.detail


def test_spec_kit_phases_parallel_markers_and_order():
    imported = parse([source("speckit-tasks.md")])
    assert imported.tool == "speckit"
    ensure_valid(imported.draft, load_catalogue())
    deps = {t.code: t.dependencies for t in imported.draft.tasks}
    # T002 and T003 are [P]: both wait for T001 only; T004 waits for both.
    assert deps["T-002"] == ["T-001"]
    assert deps["T-003"] == ["T-001"]
    assert deps["T-004"] == ["T-002", "T-003"]
    # User stories wait for the foundation, not for one another.
    assert deps["T-006"] == ["T-005"]
    assert deps["T-009"] == ["T-005"]
    # "(depends on T006, T007)" is honoured.
    assert deps["T-008"] == ["T-006", "T-007"]
    # Polish waits for every story.
    assert deps["T-010"] == ["T-008", "T-009"]
    assert [m.title for m in imported.milestones][:2] == [
        "Phase 1: Setup (Shared Infrastructure)",
        "Phase 2: Foundational (Blocking Prerequisites)",
    ]
    assert imported.milestones[2].goal == "The courier runs and jumps with a variable jump height"
    assert [m.key for m in imported.draft.milestones] == ["phase-1", "phase-2", "phase-3", "phase-4", "phase-5"]
    assert [t.milestone for t in imported.draft.tasks][:4] == ["phase-1", "phase-1", "phase-1", "phase-2"]
    tasks = {t.code: t for t in imported.draft.tasks}
    assert tasks["T-008"].priority == 5  # P1
    assert tasks["T-009"].priority == 4  # P2
    assert tasks["T-006"].discipline == "qa"
    assert [d.name for d in tasks["T-008"].deliverables] == ["scripts/player/player_controller.gd"]
    assert tasks["T-008"].deliverables[0].required is False
    assert imported.progress == {"T-001": {"status": "done", "reason": None}}
    assert "[P]" in tasks["T-002"].description


@pytest.mark.parametrize(("name", "line"), [("speckit-bad-id.md", "line 6"), ("speckit-duplicate.md", "line 6")])
def test_spec_kit_malformed_lines_are_refused(name, line):
    with pytest.raises(InvalidInput) as refused:
        parse([source(name)], format="speckit")
    assert line in refused.value.detail


def test_spec_kit_without_tasks_is_refused():
    with pytest.raises(InvalidInput, match="no tasks"):
        parse([SourceFile("tasks.md", "# Tasks: Empty\n\n## Phase 1: Setup\n\nNothing yet.\n")], format="speckit")


def test_backlog_md_front_matter_sections_and_parents():
    imported = parse(backlog_files())
    assert imported.tool == "backlog"
    ensure_valid(imported.draft, load_catalogue())
    tasks = by_title(imported)
    assert tasks["Write the design document"].acceptance_criteria == [
        "The pitch fits in two sentences",
        "The core loop is drawn",
    ]
    assert "SECTION:DESCRIPTION" not in tasks["Write the design document"].description
    assert "Implementation Plan" in tasks["Player controller"].description
    assert tasks["Write the design document"].priority == 4
    assert tasks["Write the design document"].discipline == "design"
    # The parent depends on its subtask and on its own dependencies.
    assert set(tasks["Player controller"].dependencies) == {
        tasks["Write the design document"].code,
        tasks["Coyote time"].code,
    }
    assert imported.progress == {tasks["Write the design document"].code: {"status": "done", "reason": None}}
    unmapped = "\n".join(imported.unmapped)
    assert "'task-9', which is not in the import" in unmapped
    assert "status 'In Progress'" in unmapped
    assert [m.title for m in imported.milestones] == ["Prototype", "Alpha"]
    # The subtask has no milestone: it gets one of its own, ordered before the milestone that waits for it.
    assert [m.key for m in imported.draft.milestones] == ["without-milestone", "prototype", "alpha"]
    assert tasks["Coyote time"].milestone == "without-milestone"


def test_milestones_that_wait_for_each_other_both_ways_are_left_out():
    files = [
        SourceFile("a.md", "---\nid: task-1\ntitle: A\nmilestone: One\ndependencies: [task-2]\n---\n"),
        SourceFile("b.md", "---\nid: task-2\ntitle: B\nmilestone: Two\n---\n"),
        SourceFile("c.md", "---\nid: task-3\ntitle: C\nmilestone: One\n---\n"),
        SourceFile("d.md", "---\nid: task-4\ntitle: D\nmilestone: Two\ndependencies: [task-3]\n---\n"),
    ]
    imported = parse(files, format="backlog")
    assert imported.draft.milestones == []
    assert any("across them both ways" in line for line in imported.unmapped)
    ensure_valid(imported.draft, load_catalogue())


def test_backlog_md_malformed_files_are_refused():
    with pytest.raises(InvalidInput, match="line 4: invalid YAML"):
        parse([source("backlog-bad-yaml.md")], format="backlog")
    with pytest.raises(InvalidInput, match="line 1"):
        parse([SourceFile("task-1.md", "no front matter")], format="backlog")
    with pytest.raises(InvalidInput, match="front matter: title"):
        parse([SourceFile("task-1.md", "---\nid: task-1\n---\n")], format="backlog")
    twice = [
        SourceFile("a.md", "---\nid: task-1\ntitle: A\n---\n"),
        SourceFile("b.md", "---\nid: task-1\ntitle: B\n---\n"),
    ]
    with pytest.raises(InvalidInput, match=r"also used by a\.md"):
        parse(twice, format="backlog")


def test_detect_recognises_each_format():
    assert detect([source("taskmaster-tagged.json")]) == "taskmaster"
    assert detect([source("speckit-tasks.md")]) == "speckit"
    assert detect(backlog_files()) == "backlog"
    assert detect([SourceFile("plan.json", json.dumps({"summary": "s", "tasks": []}))]) == "gateway"
    with pytest.raises(InvalidInput, match="Unknown import format"):
        parse([source("speckit-tasks.md")], format="trello")


def test_digest_depends_on_content_and_options_not_line_endings():
    one = [source("speckit-tasks.md")]
    crlf = [SourceFile("speckit-tasks.md", one[0].content.replace("\n", "\r\n"))]
    assert file_digest("speckit", one) == file_digest("speckit", crlf)
    assert file_digest("speckit", one) != file_digest("speckit", one, {"tag": "x"})
    assert file_digest("speckit", one) != file_digest("taskmaster", one)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("{", "line 1, column 2"),
        ('{"summary": "s"}', "tasks"),
        ('{"summary": "s", "tasks": [{"code": "X-1"}]}', "tasks.0"),
    ],
)
def test_a_malformed_gateway_export_is_refused(content, where):
    with pytest.raises(InvalidInput) as refused:
        parse([SourceFile("plan.json", content)], format="gateway")
    assert where in refused.value.detail


def test_one_file_formats_refuse_several_files():
    two = [source("speckit-tasks.md"), source("speckit-tasks.md")]
    for name in ("speckit", "taskmaster", "gateway"):
        with pytest.raises(InvalidInput, match="exactly one"):
            parse(two, format=name)
    with pytest.raises(InvalidInput, match="no files"):
        parse([], format="auto")
