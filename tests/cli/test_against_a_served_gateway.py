"""The `gateway` console script as a person runs it, against a gateway served by another process."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

pytestmark = pytest.mark.sqlite_only
GATEWAY = [sys.executable, "-m", "gateway"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    subprocess.run([*GATEWAY, "migrate"], check=True, capture_output=True, cwd=tmp_path)
    port = _free_port()
    server = subprocess.Popen(
        [*GATEWAY, "serve", "--port", str(port)], cwd=tmp_path, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx2.get(f"{url}/health", timeout=1)
                break
            except httpx2.TransportError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def gateway(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")} | {"GATEWAY_URL": url}
    return subprocess.run([*GATEWAY, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_help_and_version_do_not_load_the_server_or_the_client():
    probe = (
        "import sys; from gateway.cli import app; "
        "heavy = [m for m in ('fastapi', 'sqlmodel', 'httpx2', 'websockets', 'uvicorn', 'gateway.app.main') if m in sys.modules]; "
        "print(heavy)"
    )
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
    listed = subprocess.run([*GATEWAY, "--help"], capture_output=True, text=True, check=True).stdout
    for group in ("projects", "plans", "tasks", "context", "artifacts", "events", "demo", "serve", "version"):
        assert group in listed


def test_a_person_works_a_project_from_the_terminal(served, tmp_path):
    created = gateway(served, "projects", "create", "Star Courier", "--genre", "puzzle", "--engine", "godot", "--json")
    assert created.returncode == 0, created.stderr
    pid = json.loads(created.stdout)["id"]
    assert pid == "star-courier"
    plan = json.loads(gateway(served, "plans", "propose", "-p", pid, "--json").stdout)
    assert plan["status"] == "proposed"
    assert gateway(served, "plans", "accept", str(plan["version"]), "-p", pid).returncode == 0
    current = json.loads(gateway(served, "tasks", "current", "-p", pid, "--json").stdout)
    code = current["task"]["code"]
    claimed = gateway(served, "tasks", "claim", code, "-p", pid, "--json")
    assert claimed.returncode == 0
    assert json.loads(claimed.stdout)["claimed_by"].startswith("cli-")
    refused = gateway(served, "tasks", "complete", code, "-p", pid, "-m", "done")
    assert refused.returncode == 1
    assert "(409)" in refused.stderr
    assert gateway(served, "tasks", "claim", code, "-p", pid, "--lease", "0").returncode == 2
    missing = gateway(served, "projects", "show", "nobody")
    assert missing.returncode == 1
    assert "Resource not found (404)" in missing.stderr


def test_the_demo_and_following_its_events(served):
    follow = subprocess.Popen(
        [*GATEWAY, "events", "follow", "--count", "5", "--json", "--url", served],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    demo = gateway(served, "demo", "--tasks", "2", "--pace", "0")
    assert demo.returncode == 0, demo.stderr
    assert "2 of" in demo.stdout
    assert "tasks done" in demo.stdout
    out, _ = follow.communicate(timeout=60)
    assert follow.returncode == 0
    kinds = [json.loads(line)["type"] for line in out.splitlines()]
    assert len(kinds) == 5
    assert kinds[0] == "project.created"
