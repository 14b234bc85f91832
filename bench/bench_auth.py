"""What the gate costs per request: the same read over real HTTP without a token (local mode), with a user
token (token lookup + membership), an agent token and the session cookie, and a refused request.

Starts the app with uvicorn in this process on a loopback port (SQLite in a temp dir), then sends N sequential
GET /api/v1/projects/{id} per kind of caller with one httpx2 client and reports median and p99 latency.

    .venv/bin/python bench/bench_auth.py [--requests 300]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app.auth import tokens
from gateway.app.config import Settings
from gateway.app.db import DatabaseManager
from gateway.app.main import create_app
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import projects
from tests.conftest import LiveServer


def _measure(client: httpx2.Client, url: str, n: int, **kwargs: object) -> tuple[float, float, int]:
    timings = []
    status = 0
    for _ in range(n):
        started = time.perf_counter()
        status = client.get(url, **kwargs).status_code  # type: ignore[arg-type]
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1], status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/gateway.db"
        db = DatabaseManager(url)
        db.init_db()
        with db.get_session() as session:
            projects.create(session=session, data=ProjectCreate(id="p", name="P"))
            user = tokens.issue(session=session, kind="user", name="ada", projects=["p"]).secret
            agent = tokens.issue(session=session, kind="agent", name="a1", projects=["p"]).secret
        for mode in ("local", "required"):
            app = create_app(
                Settings(database_url=url, data_dir=Path(tmp) / "data", auth=mode, log_level="WARNING"), db=db
            )
            with LiveServer(app) as live, httpx2.Client(base_url=live.url) as client:
                client.get("/health")
                cases = {
                    "local": {"headers": {}},
                    "user token": {"headers": {"Authorization": f"Bearer {user}"}},
                    "agent token": {"headers": {"Authorization": f"Bearer {agent}"}},
                    "refused (bad token)": {"headers": {"Authorization": "Bearer gw_" + "x" * 43}},
                }
                if mode == "required":
                    del cases["local"]
                    client.post("/api/v1/session", json={"token": user})
                    cases["session cookie"] = {"headers": {}}
                for name, kwargs in cases.items():
                    median, p99, status = _measure(client, "/api/v1/projects/p", n, **kwargs)
                    print(f"{mode:<9} {name:<20} status {status}  median {median:6.2f} ms  p99 {p99:6.2f} ms")
                client.cookies.clear()
        db.dispose()


if __name__ == "__main__":
    main()
