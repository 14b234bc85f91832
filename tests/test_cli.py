"""The `gateway` command, in process and as the real console script."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from gateway import __version__, migrations
from gateway.cli import app

pytestmark = pytest.mark.sqlite_only
runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == __version__


def test_python_dash_m_gateway_is_the_command():
    result = subprocess.run([sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, check=True)
    for command in ("serve", "migrate", "openapi", "version"):
        assert command in result.stdout


def test_migrate_creates_data_gateway_db_and_is_idempotent(tmp_path: Path):
    first = runner.invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert f"Applied {', '.join(migrations.revisions())}" in first.output
    assert (tmp_path / "data" / "gateway.db").is_file()
    second = runner.invoke(app, ["migrate"])
    assert "Nothing to do" in second.output


def test_openapi_writes_the_document(tmp_path: Path):
    result = runner.invoke(app, ["openapi", "--output", str(tmp_path / "o.json")])
    assert result.exit_code == 0
    document = json.loads((tmp_path / "o.json").read_text())
    assert document["info"]["title"] == "Gateway"
    printed = runner.invoke(app, ["openapi"])
    assert json.loads(printed.output) == document


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_over_real_http(tmp_path: Path):
    """What `make run` does: migrate, then serve on $PORT with the embedded defaults."""
    gateway = [sys.executable, "-m", "gateway"]
    subprocess.run([*gateway, "migrate"], check=True, capture_output=True, cwd=tmp_path)
    port = _free_port()
    env = os.environ | {"PORT": str(port)}
    server = subprocess.Popen([*gateway, "serve"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{base}/health", timeout=1)
                break
            except httpx2.TransportError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not answer within 30 s"
                time.sleep(0.1)
        assert httpx2.get(f"{base}/ready").json()["status"] == "ready"
        assert httpx2.get(f"{base}/docs").status_code == 200
        # X-Forwarded-For from a client that is no configured proxy changes nothing: neither the address that is
        # logged nor the local mode's "from this machine" (it used to make this request anonymous, a 401).
        forged = {"X-Request-ID": "srv-1", "X-Forwarded-For": "203.0.113.9"}
        created = httpx2.post(f"{base}/api/v1/projects", json={"name": "Served"}, headers=forged)
        assert created.status_code == 201
        assert created.headers["x-request-id"] == "srv-1"
        assert [p["id"] for p in httpx2.get(f"{base}/api/v1/projects").json()["items"]] == ["served"]
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("request_id") == "srv-1" and line["event"] == "request"]
    assert [line["client"] for line in requests] == ["127.0.0.1"]
    assert all(line.startswith("{") for line in stderr.splitlines() if line.strip()), stderr
    assert (tmp_path / "data" / "gateway.db").is_file()


def test_forwarded_headers_are_believed_from_configured_proxies_only():
    from gateway.cli.server import proxy_options

    assert proxy_options([]) == {"proxy_headers": False}
    assert proxy_options(["10.0.0.5", "10.1.0.0/16"]) == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.5,10.1.0.0/16",
    }
