"""The web UI in a real browser (Debian's Chromium) against a real server: the walk a person takes."""

import re

import httpx2
import pytest

from tests import samples

pytestmark = pytest.mark.sqlite_only


class Agent:
    """An AI coding agent working tasks through the REST API, the way the integration tests' agents do."""

    def __init__(self, base: str, project: str, name: str) -> None:
        self.http = httpx2.Client(base_url=base, timeout=30)
        self.project = project
        self.name = name

    def url(self, path: str) -> str:
        return f"/api/v1/projects/{self.project}/{path}"

    def claim_and_start(self) -> dict:
        claim = self.http.post(self.url("tasks/next/claim"), json={"agent_id": self.name, "lease_seconds": 600})
        assert claim.status_code == 200, claim.text
        task = claim.json()
        started = self.http.post(self.url(f"tasks/{task['id']}/start"), json={"agent_id": self.name})
        assert started.status_code == 200, started.text
        return started.json()

    def hand_in(self, task: dict) -> None:
        for n, deliverable in enumerate(d for d in task["deliverables"] if d["required"]):
            filename, data = samples.file_for(deliverable["category"], f"{task['code'].lower()}-{n}")
            upload = self.http.post(
                self.url("artifacts/files"),
                params={"task_id": task["id"], "category": deliverable["category"], "path": deliverable["name"]},
                files={"file": (filename, data)},
            )
            assert upload.status_code == 201, upload.text

    def complete(self, task: dict) -> None:
        done = self.http.post(
            self.url(f"tasks/{task['id']}/complete"), json={"agent_id": self.name, "summary": f"{self.name} did it"}
        )
        assert done.status_code == 200, done.text


def open_new_project_form(page) -> None:
    """The brief's form (open by itself when there is no project yet)."""
    page.locator("#new-project form").wait_for(state="attached")
    if not page.locator("#new-project").evaluate("el => el.open"):
        page.get_by_text("New project from a brief").click()


def test_consensus_then_live_board_artifacts_and_context(ui, live_server):
    page = ui.page
    page.goto("/")
    # Projects: create one from a brief, with catalogue choices and free text.
    open_new_project_form(page)
    page.get_by_label("Name").fill("Star Courier")
    page.get_by_label("Id", exact=True).fill("star-courier")
    page.get_by_label("Pitch").fill("A courier dashes across a collapsing station.")
    page.get_by_label("Genre").fill("platformer-2d")
    page.get_by_label("Engine").fill("godot")
    page.get_by_label("linux").check()
    page.get_by_label("Other features (comma-separated, free text)").fill("grappling hook")
    page.get_by_role("button", name="Create project").click()

    # Plan: version 1 is proposed and shown, grouped, with nothing accepted yet.
    page.locator("#plan-tasks[data-ready=true][data-version='1']").wait_for()
    assert page.locator("#accepted-banner").inner_text() == "No version accepted yet."
    assert page.locator(".task-row").count() >= 20
    plan = httpx2.get(f"{live_server.url}/api/v1/projects/star-courier/plans/1").json()
    shown = page.locator("section.milestone").evaluate_all("els => els.map(e => e.dataset.milestone)")
    assert shown == [m["key"] for m in plan["milestones"]]  # tasks grouped by milestone, in the plan's order
    ui.shot("plan")

    # Feedback: free text plus a structured edit staged on a task, then the AI's revision.
    row = page.locator(".task-row[data-code='T-002']")
    row.locator("summary").click()
    row.get_by_role("button", name="Edit…").click()
    dialog = page.locator("dialog")
    dialog.get_by_label("Title").fill("Movement metrics, with a dash")
    t002 = next(t for t in plan["tasks"] if t["code"] == "T-002")
    other_milestone = next(m["key"] for m in reversed(plan["milestones"]) if m["key"] != t002["milestone"])
    dialog.get_by_label("Milestone").select_option(other_milestone)
    dialog.get_by_role("button", name="Stage edit").click()
    assert "Edit T-002: title, milestone" in page.locator("#feedback .edits").inner_text()
    page.get_by_label("What should change (free text)").fill("Please add more polish to the game.")
    page.get_by_role("button", name="Ask the AI for a revision").click()
    page.locator("#plan-tasks[data-ready=true][data-version='2']").wait_for()
    timeline = page.locator(".timeline li")
    assert timeline.count() == 2
    assert "from v1" in timeline.first.inner_text()
    assert "Please add more polish" in timeline.first.inner_text()

    # Compare: the side-by-side diff highlights the changed field of T-002.
    page.get_by_label("Compare with").select_option("1")
    page.get_by_role("button", name="Compare", exact=True).click()
    changed = page.locator("#plan-diff tr[data-code='T-002']")
    changed.wait_for()
    assert "changed" in changed.get_attribute("class")
    assert changed.locator("td.old [data-field=title] mark").inner_text() != "Movement metrics, with a dash"
    assert changed.locator("td.new [data-field=title] mark").inner_text() == "Movement metrics, with a dash"
    assert changed.locator("td.new [data-field=milestone] mark").inner_text() == other_milestone
    ui.shot("plan-diff")
    page.get_by_role("button", name="Back to version 2").click()

    page.get_by_role("button", name="Accept version 2").click()
    page.locator("dialog").get_by_role("button", name="Accept").click()
    page.locator("#accepted-banner", has_text="Accepted: version 2").wait_for()
    assert "accepted" in page.locator(".timeline li[data-version='2']").get_attribute("class")

    # Board: an agent works through the REST API while the page only listens.
    page.get_by_role("link", name="Board").click()
    page.locator("#board[data-ready=true]").wait_for()
    agent = Agent(live_server.url, "star-courier", "claude-1")
    task = agent.claim_and_start()
    card = page.locator(f"#board .tcard[data-code='{task['code']}']")
    page.locator(f".column[data-status=in_progress] .tcard[data-code='{task['code']}']").wait_for()
    assert "claude-1" in card.inner_text()
    agent.hand_in(task)
    agent.complete(task)
    page.locator(f".column[data-status=done] .tcard[data-code='{task['code']}']").wait_for()
    ui.shot("board")

    # A dropped connection resumes from the last event: what happened meanwhile shows up once.
    seqs_before = page.locator("#activity li").count()
    page.evaluate("gateway.pauseLive()")
    second = agent.claim_and_start()
    agent.hand_in(second)
    page.evaluate("gateway.resumeLive()")
    page.locator(f".column[data-status=in_progress] .tcard[data-code='{second['code']}']").wait_for()
    page.wait_for_function(f"document.querySelectorAll('#activity li').length > {seqs_before}")
    head = agent.http.get(agent.url("events?limit=1")).json()["head"]
    page.locator(f"#activity li[data-seq='{head}']").wait_for()
    seqs = [int(s) for s in page.locator("#activity li").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert len(seqs) == len(set(seqs))  # nothing doubled
    assert set(range(min(seqs), head + 1)) <= set(seqs)  # nothing missed

    # The task drawer: deliverables with the artifacts that satisfy them, and the person's actions.
    page.locator(f"#board .tcard[data-code='{task['code']}']").click()
    drawer = page.locator(".drawer")
    drawer.get_by_role("heading", name=task["title"]).wait_for()
    assert "✔" in drawer.locator("#deliverables").inner_text()
    drawer.get_by_role("button", name="Reopen").click()
    page.locator("dialog").get_by_label("Reason").fill("Needs another pass")
    page.locator("dialog").get_by_role("button", name="Reopen").click()
    page.locator(f".column[data-status=pending] .tcard[data-code='{task['code']}']").wait_for()
    page.keyboard.press("Escape")
    assert drawer.count() == 0

    # Artifacts: an image shows its preview, decoded by the browser.
    filename, data = samples.file_for("screenshot", "title-screen")
    shot = agent.http.post(
        agent.url("artifacts/files"), params={"category": "screenshot"}, files={"file": (filename, data)}
    )
    assert shot.status_code == 201, shot.text
    page.get_by_role("link", name="Artifacts").click()
    image = page.locator(f".card[data-artifact='{shot.json()['id']}'] img")
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 160", arg=image.element_handle())
    ui.shot("artifacts")

    # Context: an edit based on a version someone else replaced in the meantime shows the conflict.
    page.get_by_role("link", name="Context").click()
    editor = page.locator("#context-text")
    editor.wait_for()
    editor.fill(editor.input_value().replace("{", '{\n  "mine": true,', 1))
    current = agent.http.get(agent.url("context"))
    version = current.json()["version"]
    theirs = current.json()["content"] | {"constraints": ["60 fps on a 2018 laptop"]}
    put = agent.http.put(agent.url("context"), json=theirs, headers={"If-Match": f'"{version}"'})
    assert put.status_code == 200, put.text
    page.locator("#context-notice .notice").wait_for()  # told live, and the text being edited is left alone
    page.get_by_role("button", name=re.compile(r"Save as version")).click()
    conflict = page.locator("#context-conflict")
    conflict.wait_for()
    assert page.locator("#context-errors .problem strong").inner_text()  # the problem's title
    assert "60 fps on a 2018 laptop" in conflict.inner_text()  # the other change
    assert '"mine": true' in editor.input_value()  # mine is kept, not overwritten
    ui.shot("context-conflict")
    page.get_by_role("button", name=re.compile(r"Edit mine on top of version")).click()
    page.get_by_role("button", name=re.compile(r"Save as version")).click()
    page.locator("#context-version", has_text=f"version {version + 2}").wait_for()

    # Agents: copy-paste MCP configuration with this server's URL, and who holds a claim.
    page.get_by_role("link", name="Agents").first.click()
    page.locator("#agents-table tr[data-agent='claude-1']").wait_for()
    assert f"{live_server.url}/mcp" in page.locator("#mcp-configs").inner_text()
    ui.shot("agents")
    page.get_by_role("link", name="Projects").first.click()
    page.locator("#project-list tr[data-project='star-courier'] .progress").wait_for()
    ui.shot("projects")
    agent.http.close()


def test_docs_and_redoc_render_offline(ui):
    page = ui.page
    page.goto("/docs")
    page.locator(".swagger-ui .info h1", has_text="Gateway").wait_for(timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 20  # every route is listed
    page.goto("/redoc")
    page.get_by_role("heading", name=re.compile("^Gateway")).first.wait_for(timeout=30_000)


def test_an_api_error_is_shown_with_its_title_and_detail(ui):
    page = ui.page
    page.goto("/#/projects/nowhere/plan")
    page.locator("#who", has_text="local mode").wait_for()  # no session route or a local one: no login
    problem = page.locator(".problem")
    problem.wait_for()
    assert "Not Found" in problem.inner_text() or "not found" in problem.inner_text().lower()
    page.goto("/#/projects")
    open_new_project_form(page)
    page.get_by_label("Name").fill("Bad id")
    page.get_by_label("Id", exact=True).evaluate("el => el.removeAttribute('pattern')")
    page.get_by_label("Id", exact=True).fill("Not A Slug")
    page.get_by_label("Id", exact=True).press("Enter")  # the keyboard submits the form
    error = page.locator("form[aria-label='New project'] .problem")
    error.wait_for()
    assert "id" in error.inner_text()
