"""The people's commands driven in process (CliRunner) against a real HTTP server (uvicorn in a thread)."""

import json
import os
import stat
import threading
import time
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from tests.samples import png

pytestmark = pytest.mark.sqlite_only
FIXTURES = Path(__file__).parents[1] / "app" / "interchange" / "fixtures"
runner = CliRunner()


@pytest.fixture
def gw(live_server, monkeypatch):
    """Run a command against the live server; answers the result (exit_code, stdout, stderr)."""
    monkeypatch.setenv("GATEWAY_URL", live_server.url)

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(app, [str(a) for a in args], env=env)

    return invoke


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def make_project(gw, tmp_path: Path) -> str:
    brief = tmp_path / "brief.yaml"
    brief.write_text(
        "name: Star Courier\nid: courier\ngenre: platformer-2d\nengine: godot\nscope: prototype\n"
        "pitch: A courier leaps across a collapsing station.\nplatforms: [linux]\n"
    )
    project = as_json(gw("projects", "create", "--brief", brief, "--json"))
    assert project["id"] == "courier"
    assert project["brief"]["genre"] == "platformer-2d"
    return project["id"]


def test_a_project_from_brief_to_a_done_task(gw, tmp_path):
    pid = make_project(gw, tmp_path)
    assert [p["id"] for p in as_json(gw("projects", "list", "--json"))] == ["courier"]
    listed = gw("projects", "list")
    assert "courier" in listed.stdout
    assert "platformer-2d" in listed.stdout
    assert "courier" in gw("projects", "show", pid).stdout
    proposed = as_json(gw("plans", "propose", "-p", pid, "--json"))
    assert (proposed["version"], proposed["status"]) == (1, "proposed")
    revised = as_json(gw("plans", "revise", "1", "-p", pid, "-m", "add a level editor", "--json"))
    assert revised["version"] == 2
    assert revised["feedback"]["text"] == "add a level editor"
    diff = as_json(gw("plans", "diff", "1", "2", "-p", pid, "--json"))
    assert set(diff) >= {"added", "removed", "changed", "moved"}
    assert (
        "same tasks" in gw("plans", "diff", "1", "2", "-p", pid).output
        or "→" in gw("plans", "diff", "1", "2", "-p", pid).output
    )
    rejected = as_json(gw("plans", "reject", "1", "-p", pid, "-r", "Too long", "--json"))
    assert rejected["status"] == "rejected"
    accepted = as_json(gw("plans", "accept", "2", "-p", pid, "--json"))
    assert accepted["status"] == "accepted"
    shown = gw("plans", "show", "-p", pid)
    assert shown.exit_code == 0
    assert "T-001" in shown.stdout
    assert [v["version"] for v in as_json(gw("plans", "list", "-p", pid, "--json"))] == [2, 1]

    tasks = as_json(gw("tasks", "list", "-p", pid, "--json"))
    assert [t["code"] for t in tasks][:2] == ["T-001", "T-002"]
    current = as_json(gw("tasks", "current", "-p", pid, "--json"))
    assert current["task"]["code"] == "T-001"
    assert current["briefing"]["task"]["code"] == "T-001"
    assert "Suggested MCP servers" in gw("tasks", "current", "-p", pid).output
    claimed = as_json(gw("tasks", "claim", "T-001", "-p", pid, "--as", "sam", "--json"))
    assert claimed["claimed_by"] == "sam"
    started = as_json(gw("tasks", "start", "t-001", "-p", pid, "--as", "sam", "--json"))
    assert started["status"] == "in_progress"
    # Refused: the deliverable is missing. Exit 1 with the problem's title and detail.
    refused = gw("tasks", "complete", "T-001", "-p", pid, "--as", "sam", "-m", "done")
    assert refused.exit_code == 1
    assert "Deliverables missing (409)" in refused.stderr
    assert "docs/game-design.md" in refused.stderr
    doc = tmp_path / "game-design.md"
    doc.write_text("# Star Courier\n\nA courier leaps.\n")
    uploaded = as_json(
        gw("artifacts", "upload", doc, "-p", pid, "-t", "T-001", "--path", "docs/game-design.md", "--json")
    )
    assert uploaded[0]["validation_status"] == "valid"
    done = as_json(gw("tasks", "complete", "T-001", "-p", pid, "--as", "sam", "-m", "The design", "--json"))
    assert done["status"] == "done"
    task_id = str(tasks[2]["id"])
    blocked = as_json(gw("tasks", "block", task_id, "-p", pid, "-r", "Waiting for a licence", "--json"))
    assert blocked["status"] == "blocked"
    assert "T-002" in gw("tasks", "show", "T-002", "-p", pid).stdout
    artifacts = as_json(gw("artifacts", "list", "-p", pid, "--json"))
    assert [a["path"] for a in artifacts] == ["docs/game-design.md"]
    revalidated = as_json(gw("artifacts", "validate", str(artifacts[0]["id"]), "-p", pid, "--json"))
    assert revalidated["validation_status"] == "valid"
    events = as_json(gw("events", "list", "-p", pid, "--json"))
    assert "task.completed" in [e["type"] for e in events]
    assert "task.completed" in gw("events", "list", "-p", pid).stdout


def test_exit_codes_refused_and_bad_usage(gw, tmp_path):
    pid = make_project(gw, tmp_path)
    missing = gw("plans", "show", "3", "-p", pid)
    assert missing.exit_code == 1
    assert "Resource not found (404)" in missing.stderr
    assert gw("plans", "show", "-p", pid).exit_code == 2  # no plan yet: nothing to show
    assert gw("tasks", "list").exit_code == 2  # no project given
    assert gw("plans", "accept", "zero", "-p", pid).exit_code == 2
    assert gw("tasks", "show", "T-099", "-p", pid).exit_code == 2
    invalid = gw("projects", "create", "x", "--id", "Not A Slug")
    assert invalid.exit_code == 1
    assert "Invalid input (422)" in invalid.stderr
    bad_brief = tmp_path / "brief.toml"
    bad_brief.write_text("title = \n")
    assert gw("projects", "create", "--brief", bad_brief).exit_code == 2
    assert gw("projects", "create").exit_code == 2
    unreachable = runner.invoke(app, ["projects", "list", "--url", "http://127.0.0.1:9"])
    assert unreachable.exit_code == 1
    assert "Cannot reach the gateway" in unreachable.stderr
    bad_png = tmp_path / "broken.png"
    bad_png.write_bytes(b"not a png")
    invalid_upload = gw("artifacts", "upload", bad_png, "-p", pid)
    assert invalid_upload.exit_code == 1
    assert "invalid" in invalid_upload.stdout


def test_a_token_is_sent_as_a_bearer(gw, tmp_path, live_server):
    seen: list[str | None] = []
    from gateway.cli import _client

    class Spy(_client.Gateway):
        def __init__(self, url, token=None, **kwargs):
            super().__init__(url, token, **kwargs)
            seen.append(self.http.headers.get("authorization"))

    original = _client.Gateway
    _client.Gateway = Spy
    try:
        result = runner.invoke(app, ["projects", "list", "--json"], env={"GATEWAY_TOKEN": "secret-1"})
    finally:
        _client.Gateway = original
    assert seen == ["Bearer secret-1"]
    # The gateway checks the token it was sent: an unknown one is refused, exit 1 with the problem.
    assert result.exit_code == 1
    assert "(401)" in result.stderr


def _editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(f"import json, sys\npath = sys.argv[1]\n{body}\n")
    wrapper = tmp_path / "editor.sh"
    wrapper.write_text(f'#!/bin/sh\nexec "{os.sys.executable}" "{script}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return str(wrapper)


def test_context_edit_in_the_editor_with_if_match(gw, tmp_path, live_server):
    pid = make_project(gw, tmp_path)
    before = as_json(gw("context", "show", "-p", pid, "--json"))
    add_decision = _editor(
        tmp_path,
        "d = json.load(open(path))\nd['decisions'].append({'what': 'Godot 4.3', 'by': 'user', 'when': '2026-12-01T10:00:00Z'})\n"
        "json.dump(d, open(path, 'w'))",
    )
    saved = gw("context", "edit", "-p", pid, "--json", env={"EDITOR": add_decision})
    assert saved.exit_code == 0, saved.output
    after = json.loads(saved.stdout)
    assert after["version"] == before["version"] + 1
    assert after["content"]["decisions"][-1]["what"] == "Godot 4.3"
    assert "Godot 4.3" in gw("context", "show", "-p", pid).stdout
    assert as_json(gw("context", "show", "-p", pid, "--version", "1", "--json"))["version"] == 1
    unchanged = gw("context", "edit", "-p", pid, env={"EDITOR": _editor(tmp_path, "pass")})
    assert unchanged.exit_code == 0
    assert "No change" in unchanged.stderr
    broken = gw("context", "edit", "-p", pid, env={"EDITOR": _editor(tmp_path, "open(path, 'w').write('{')")})
    assert broken.exit_code == 2
    assert "Not valid JSON at line 1" in broken.stderr
    # Someone else saves while the editor is open: the stale If-Match is refused, the edit kept aside.
    racing = _editor(
        tmp_path,
        "import httpx2\n"
        f"url = '{live_server.url}/api/v1/projects/{pid}/context'\n"
        "current = httpx2.get(url)\n"
        "httpx2.put(url, json={**current.json()['content'], 'constraints': ['60 fps']}, "
        "headers={'If-Match': current.headers['etag']})\n"
        "d = json.load(open(path))\nd['constraints'] = ['mine']\njson.dump(d, open(path, 'w'))",
    )
    stale = gw("context", "edit", "-p", pid, env={"EDITOR": racing})
    assert stale.exit_code == 1
    assert "Precondition failed (412)" in stale.stderr
    assert ".rejected.json" in stale.stderr
    assert as_json(gw("context", "show", "-p", pid, "--json"))["content"]["constraints"] == ["60 fps"]


def test_task_context_and_events_follow_live(gw, tmp_path, live_server):
    pid = make_project(gw, tmp_path)
    as_json(gw("plans", "propose", "-p", pid, "--json"))
    as_json(gw("plans", "accept", "1", "-p", pid, "--json"))
    as_json(gw("tasks", "start", "T-001", "-p", pid, "--json"))
    task_context = as_json(gw("context", "show", "-p", pid, "-t", "T-001", "--json"))
    assert task_context["scope"] == "task"

    def later() -> None:
        time.sleep(1.0)
        httpx2.post(f"{live_server.url}/api/v1/projects/{pid}/tasks/next/claim", json={"agent_id": "bot"})

    thread = threading.Thread(target=later)
    thread.start()
    followed = gw("events", "follow", "-p", pid, "--count", "1", "--json")
    thread.join()
    assert followed.exit_code == 0, followed.output
    event = json.loads(followed.stdout.splitlines()[0])
    assert event["type"] == "task.claimed"
    assert event["data"]["agent_id"] == "bot"
    # Replaying from the start of the project's history, as a table.
    replay = gw("events", "follow", "-p", pid, "--after", "0", "--count", "2")
    assert replay.exit_code == 0
    assert "project.created" in replay.stdout
    everything = gw("events", "follow", "--after", "0", "--count", "1", "--json")
    assert json.loads(everything.stdout)["type"] == "project.created"
    gone = gw("events", "follow", "-p", "nobody", "--count", "1")
    assert gone.exit_code == 1


def test_import_and_export_from_the_terminal(gw, tmp_path):
    pid = make_project(gw, tmp_path)
    imported = as_json(gw("plans", "import", FIXTURES / "taskmaster-tagged.json", "-p", pid, "--json"))
    assert imported["created"]
    assert imported["format"] == "taskmaster"
    again = gw("plans", "import", FIXTURES / "taskmaster-tagged.json", "-p", pid)
    assert again.exit_code == 0
    assert "Already imported" in again.stderr
    backlog = gw("plans", "import", FIXTURES / "backlog", "-p", pid)
    assert backlog.exit_code == 0, backlog.output
    assert "not mapped" in backlog.stderr
    malformed = gw("plans", "import", FIXTURES / "speckit-bad-id.md", "-p", pid, "-f", "speckit")
    assert malformed.exit_code == 1
    assert "line 6" in malformed.stderr
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    assert gw("plans", "import", empty_dir, "-p", pid).exit_code == 2
    markdown = gw("plans", "export", "1", "-p", pid)
    assert markdown.exit_code == 0
    assert markdown.stdout.startswith("# Star Courier — plan version 1")
    out = tmp_path / "plan.json"
    assert gw("plans", "export", "1", "-p", pid, "-f", "json", "-o", out).exit_code == 0
    assert json.loads(out.read_text())["tasks"][0]["code"] == "T-001"
    assert gw("plans", "export", "1", "-p", pid, "-f", "csv").stdout.startswith("code,idx,milestone")
    assert gw("plans", "export", "1", "-p", pid, "-f", "docx").exit_code == 2
    archive = tmp_path / "archive.json"
    assert gw("projects", "export", pid, "-o", archive).exit_code == 0
    copy = as_json(gw("projects", "import", archive, "--id", "courier-copy", "--json"))
    assert copy["id"] == "courier-copy"
    assert gw("projects", "import", archive).exit_code == 1  # the id is taken
    printed = gw("projects", "export", pid)
    assert json.loads(printed.stdout)["format"] == "gateway-archive"


def test_upload_shows_progress_and_demo_runs_against_a_gateway(gw, tmp_path):
    pid = make_project(gw, tmp_path)
    image = tmp_path / "shot.png"
    image.write_bytes(png())
    result = gw("artifacts", "upload", image, "-p", pid, "--category", "screenshot")
    assert result.exit_code == 0
    assert "Uploading shot.png" in result.stderr
    demo = gw("demo", "--tasks", "3", "--pace", "0", "--json")
    assert demo.exit_code == 0, demo.output
    report = json.loads(demo.stdout)
    assert report["project"] != pid  # its own project; nobody else's
    assert len(report["done"]) == 3
    messages = [step["message"] for step in report["steps"]]
    assert any(m.endswith(".png → valid") for m in messages)
    assert any(m.endswith(".md → valid") for m in messages)
    assert as_json(gw("projects", "show", pid, "--json"))["status"] == "draft"  # untouched


def test_the_demo_serves_a_gateway_itself_when_none_answers(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(
        app, ["demo", "--url", f"http://127.0.0.1:{port}", "--tasks", "1", "--agents", "1", "--pace", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "serving one from this process" in result.stderr
    assert "1 of" in result.stdout
    assert (tmp_path / "data" / "gateway.db").is_file()  # migrated where `gateway serve` would look
    remote = runner.invoke(app, ["demo", "--url", "http://192.0.2.1:9", "--tasks", "1"])
    assert remote.exit_code == 1
    assert "No gateway answers" in remote.stderr


def test_text_with_brackets_prints_as_it_is(gw):
    created = gw("projects", "create", "Courier [P] [/US1] edition", "--genre", "puzzle")
    assert created.exit_code == 0, created.output
    wide = {"COLUMNS": "200"}  # a narrower terminal wraps the name inside its cell
    assert "Courier [P] [/US1] edition" in gw("projects", "list", env=wide).stdout
    refused = gw("projects", "show", "[/nope]")
    assert refused.exit_code == 1
    assert "[/nope]" in refused.stderr
