"""`gateway demo`: a sample project in motion — planned, accepted, and worked by two simulated agents.

It talks to a gateway's REST API like any client (starting one in this process when none answers on a
loopback URL), creates its own project from a sample brief, and never touches another project.
"""

import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli._client import (
    DEFAULT_URL,
    AsJson,
    Gateway,
    Refused,
    Token,
    Url,
    connect,
    emit_json,
    fail,
    handled,
    table,
)
from gateway.cli._console import Text, console

app = typer.Typer()
BRIEF = Path(__file__).parent / "data" / "demo-brief.toml"
RESOLVED = {"done", "cancelled"}


def _answers(url: str) -> bool:
    import httpx2

    try:
        return httpx2.get(f"{url.rstrip('/')}/health", timeout=1.0).status_code == 200
    except httpx2.TransportError:
        return False


class EmbeddedServer:
    """A gateway served from this process (migrated first), for a demo with nothing running yet."""

    def __init__(self, url: str) -> None:
        import uvicorn

        from gateway.app.config import get_settings
        from gateway.app.db import DatabaseManager
        from gateway.app.main import create_app

        host, _, port = url.split("://", 1)[1].rstrip("/").partition(":")
        settings = get_settings()
        db = DatabaseManager(settings.database_url)
        try:
            db.init_db()
        finally:
            db.dispose()
        config = uvicorn.Config(
            create_app(settings), host=host, port=int(port or 80), log_config=None, access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="gateway-demo-server", daemon=True)

    def start(self, url: str) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not _answers(url):
            if time.monotonic() > deadline or not self.thread.is_alive():
                fail(f"The embedded gateway did not start on {url}.")
            time.sleep(0.1)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Board:
    """What the demo prints as it goes (one line per step), safe to call from the agents' threads."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.lock = threading.Lock()
        self.steps: list[dict[str, Any]] = []

    def say(self, who: str, message: str, **data: Any) -> None:
        with self.lock:
            self.steps.append({"who": who, "message": message, **data})
            if not self.quiet:
                console.print(Text.assemble((f"{who:>12}", "bold cyan"), " ", message))


def _ready(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    status = {t["code"]: t["status"] for t in tasks}
    return [
        t
        for t in sorted(tasks, key=lambda t: (-t["priority"], t["idx"]))
        if t["status"] == "pending"
        and not t.get("claimed_by")
        and all(status.get(dep) in RESOLVED for dep in t.get("dependencies") or [])
    ]


def _can_make(task: dict[str, Any]) -> bool:
    from gateway.cli.demo_files import MAKERS

    return all(
        d["name"].rsplit(".", 1)[-1].lower() in MAKERS
        for d in task.get("deliverables") or []
        if d.get("required", True)
    )


class Agent(threading.Thread):
    """A simulated coding agent: claims a ready task it can do, starts it, hands in real files, completes it."""

    def __init__(
        self, name: str, *, url: str, token: str | None, project: str, budget: list[int], pace: float, board: Board
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.agent_id, self.url, self.token, self.project = name, url, token, project
        self.budget, self.pace, self.board = budget, pace, board
        self.done: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with Gateway(self.url, self.token) as gw:
                while self._take_one(gw):
                    pass
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _take_one(self, gw: Gateway) -> bool:
        base = f"/api/v1/projects/{self.project}/tasks"
        with self.board.lock:
            if self.budget[0] <= 0:
                return False
            self.budget[0] -= 1
        for _attempt in range(20):
            plan = gw.get(f"/api/v1/projects/{self.project}/plans/active")
            candidates = [t for t in _ready(plan["tasks"]) if _can_make(t)]
            if not candidates:
                if any(t["status"] == "in_progress" for t in plan["tasks"]):
                    time.sleep(self.pace)  # another agent's work will unlock something
                    continue
                return False
            task = candidates[0]
            try:
                gw.post(f"{base}/{task['id']}/claim", json={"agent_id": self.agent_id, "lease_seconds": 600})
                break
            except Refused:  # the other agent took it first
                continue
        else:
            return False
        self.board.say(self.agent_id, f"claimed {task['code']} {task['title']}", code=task["code"])
        time.sleep(self.pace)
        gw.post(f"{base}/{task['id']}/start", json={"agent_id": self.agent_id})
        self.board.say(self.agent_id, f"started {task['code']}", code=task["code"])
        from gateway.cli.demo_files import make, screenshot

        files = [(d["name"], d["category"], make(task, d["name"])) for d in task.get("deliverables") or []]
        files.append((f"screenshots/{task['code'].lower()}.png", "screenshot", screenshot(task)))
        for path, category, content in files:
            if content is None:
                continue
            time.sleep(self.pace / 2)
            artifact = gw.post(
                f"/api/v1/projects/{self.project}/artifacts/files",
                params={"task_id": task["id"], "category": category, "path": path},
                files={"file": (path.rsplit("/", 1)[-1], content, "application/octet-stream")},
            )
            self.board.say(self.agent_id, f"handed in {path} → {artifact['validation_status']}", code=task["code"])
        time.sleep(self.pace)
        summary = f"{task['title']}: delivered {', '.join(p for p, _, c in files if c is not None)}."
        finished = gw.post(f"{base}/{task['id']}/complete", json={"summary": summary, "agent_id": self.agent_id})
        self.board.say(self.agent_id, f"completed {task['code']} ({finished['status']})", code=task["code"])
        self.done.append(task["code"])
        return True


@app.command()
@handled
def demo(
    tasks: Annotated[int, typer.Option(help="How many tasks the agents work in all", min=1, max=50)] = 5,
    agents: Annotated[int, typer.Option(help="How many simulated agents", min=1, max=8)] = 2,
    pace: Annotated[
        float, typer.Option(help="Seconds between an agent's steps (slower is easier to watch)", min=0)
    ] = 0.6,
    serve: Annotated[
        bool | None,
        typer.Option(help="Serve a gateway from this process (default: only when none answers at --url)"),
    ] = None,
    keep_serving: Annotated[
        bool, typer.Option(help="After the demo, keep the embedded gateway running until Ctrl-C")
    ] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Create a sample project, propose and accept its plan, and watch two simulated agents work on it."""
    from gateway.cli.projects import read_brief_file

    started = time.monotonic()
    server = None
    if serve or (serve is None and not _answers(url)):
        if not url.startswith(("http://127.0.0.1", "http://localhost")):
            fail(f"No gateway answers at {url}; start one, or run the demo against a loopback URL.")
        if not as_json:
            console.print(
                f"No gateway at {url}: serving one from this process "
                "(database: $GATEWAY_DATABASE_URL or data/gateway.db)."
            )
        server = EmbeddedServer(url)
        server.start(url)
    board = Board(quiet=as_json)
    try:
        with connect(url, token) as gw:
            project = gw.post("/api/v1/projects", json=read_brief_file(BRIEF))
            pid = project["id"]
            board.say("you", f"created project {pid} from the sample brief", project=pid)
            if not as_json:
                console.print(f"Watch it: {url.rstrip('/')}/ (the board) · gateway events follow -p {pid}")
            from gateway.cli.plans import finish_planning

            plan = finish_planning(gw, pid, gw.post(f"/api/v1/projects/{pid}/plans"), quiet=as_json)
            board.say(
                "ai", f"proposed plan version {plan['version']}: {plan['task_count']} tasks", version=plan["version"]
            )
            gw.post(f"/api/v1/projects/{pid}/plans/{plan['version']}/accept")
            board.say("you", f"accepted version {plan['version']}", version=plan["version"])
        budget = [tasks]
        workers = [
            Agent(f"demo-agent-{n}", url=url, token=token, project=pid, budget=budget, pace=pace, board=board)
            for n in range(1, agents + 1)
        ]
        for worker in workers:
            worker.start()
            time.sleep(pace / 2)
        for worker in workers:
            worker.join()
        for worker in workers:
            if worker.error is not None:
                if isinstance(worker.error, Refused | typer.Exit):
                    raise worker.error
                raise worker.error
        with connect(url, token) as gw:
            final = gw.get(f"/api/v1/projects/{pid}/plans/active")
            state = gw.get(f"/api/v1/projects/{pid}")
        done = [t["code"] for t in final["tasks"] if t["status"] == "done"]
        elapsed = time.monotonic() - started
        if as_json:
            emit_json(
                {
                    "project": pid,
                    "plan_version": final["version"],
                    "done": done,
                    "events": state["event_seq"],
                    "seconds": round(elapsed, 1),
                    "steps": board.steps,
                }
            )
        else:
            table(
                f"{pid}: {len(done)} of {len(final['tasks'])} tasks done, {state['event_seq']} events, {elapsed:.0f} s",
                ["code", "title", "status", "by"],
                [[t["code"], t["title"], t["status"], t.get("claimed_by")] for t in final["tasks"]],
            )
            console.print(
                f"Next: gateway tasks current -p {pid} · gateway events list -p {pid} · gateway plans export 1 -p {pid}"
            )
        if server is not None and keep_serving and not as_json:
            console.print(f"The gateway keeps serving on {url} — Ctrl-C to stop.")
            try:
                while server.thread.is_alive():
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
    finally:
        if server is not None:
            server.stop()
