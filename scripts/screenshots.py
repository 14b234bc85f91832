"""Make the web UI's screenshots in docs/screenshots/ again: a fresh gateway, a demo project, a real browser.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Starts `gateway serve` on a free loopback port with a throw-away database, creates a project from a brief,
lets the offline planner propose, revises it from feedback, accepts the revision, has an agent work a few tasks
through the REST API (with a screenshot artifact), then saves one PNG per screen. Needs Chromium (Debian's
/usr/bin/chromium) and the dev dependencies (Playwright); nothing is downloaded.
"""

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
BRIEF = {
    "title": "Star Courier",
    "pitch": "A courier leaps across a collapsing space station to deliver parcels before the air runs out.",
    "genre": "platformer-2d",
    "engine": "godot",
    "platforms": ["windows", "linux"],
    "art_style": "pixel art",
    "features": ["save-system", "controller-support"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def title_screen() -> bytes:
    """A small 'screenshot' of the game for the artifact gallery."""
    image = Image.new("RGB", (480, 270), (18, 24, 48))
    draw = ImageDraw.Draw(image)
    for y in range(0, 270, 6):
        draw.line([(0, y), (480, y)], fill=(18 + y // 6, 24 + y // 10, 60 + y // 4))
    draw.rectangle([210, 150, 240, 190], fill=(240, 180, 60))
    draw.rectangle([0, 200, 480, 270], fill=(40, 44, 70))
    draw.text((170, 60), "STAR COURIER", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def serve(workdir: Path) -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}",
        "GATEWAY_DATA_DIR": str(workdir / "data"),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    gateway = str(Path(sys.executable).parent / "gateway")
    subprocess.run([gateway, "migrate"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([gateway, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/ready").status_code == 200:
                return server, base
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit("the gateway did not start")


def seed(http: httpx2.Client) -> dict:
    """A project with two plan versions (the second accepted) and an agent part-way through it."""
    api = "/api/v1/projects"
    http.post(api, json={"id": "star-courier", "name": "Star Courier", "brief": BRIEF}).raise_for_status()
    http.post(
        api,
        json={
            "id": "crate-logic",
            "name": "Crate Logic",
            "brief": {"genre": "puzzle", "engine": "phaser", "platforms": ["web"]},
        },
    ).raise_for_status()
    http.post(f"{api}/crate-logic/plans", json={}).raise_for_status()
    first = http.post(f"{api}/star-courier/plans", json={}).json()
    second = http.post(
        f"{api}/star-courier/plans/{first['version']}/revisions",
        json={
            "text": "Drop the gamepad hot-plugging for now; the camera needs look-ahead.",
            "edits": [{"op": "edit", "code": "T-008", "changes": {"title": "Platformer camera with look-ahead"}}],
        },
    ).json()
    http.post(f"{api}/star-courier/plans/{second['version']}/accept").raise_for_status()
    for agent in ("claude-code", "cursor"):
        task = http.post(f"{api}/star-courier/tasks/next/claim", json={"agent_id": agent}).json()
        http.post(f"{api}/star-courier/tasks/{task['id']}/start", json={"agent_id": agent}).raise_for_status()
        if agent == "claude-code":
            for deliverable in (d for d in task["deliverables"] if d["required"]):
                name = deliverable["name"].rsplit("/", 1)[-1]
                body = f"# {task['title']}\n\nWritten by {agent}.\n".encode()
                http.post(
                    f"{api}/star-courier/artifacts/files",
                    params={"task_id": task["id"], "category": deliverable["category"], "path": deliverable["name"]},
                    files={"file": (name if "." in name else f"{name}.md", body)},
                ).raise_for_status()
            http.post(f"{api}/star-courier/tasks/{task['id']}/complete", json={"agent_id": agent, "summary": "Done."})
    http.post(
        f"{api}/star-courier/artifacts/files",
        params={"category": "screenshot", "path": "screenshots/title.png"},
        files={"file": ("title.png", title_screen())},
    ).raise_for_status()
    return {"from": first["version"], "to": second["version"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gateway-shots-") as tmp:
        server, base = serve(Path(tmp))
        try:
            with httpx2.Client(base_url=base, timeout=30) as http:
                versions = seed(http)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
                page = browser.new_page(base_url=base, viewport={"width": 1440, "height": 900})
                shots = [
                    ("projects", "/#/projects", "#project-list table"),
                    ("plan", f"/#/projects/star-courier/plan?v={versions['to']}", "#plan-tasks[data-ready=true]"),
                    (
                        "plan-diff",
                        f"/#/projects/star-courier/plan?v={versions['to']}&cmp={versions['from']}",
                        "#diff-summary",
                    ),
                    ("board", "/#/projects/star-courier/board", "#board[data-ready=true]"),
                    ("context", "/#/projects/star-courier/context", "#context-text"),
                    ("artifacts", "/#/projects/star-courier/artifacts", ".card img"),
                    ("agents", "/#/agents", "#agents-table"),
                ]
                for name, url, ready in shots:
                    page.goto(url)
                    page.locator(ready).first.wait_for()
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(args.out / f"{name}.png"))
                    print(args.out / f"{name}.png")
                page.goto("/#/projects/star-courier/board")
                page.locator(".column[data-status=done] .tcard").first.click()
                page.locator(".drawer #deliverables").wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(args.out / "task.png"))
                print(args.out / "task.png")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
