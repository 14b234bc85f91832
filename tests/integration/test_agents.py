"""Three simulated agents work an accepted plan at once through the real HTTP API until the project is completed."""

import threading
import time
from datetime import datetime

import httpx2
from sqlmodel import select

from gateway.app.db import EventDB
from tests import samples

BRIEF = {"title": "Crate Logic", "genre": "puzzle", "engine": "phaser", "platforms": ["web"], "features": []}


def agent(base: str, name: str, done_by: dict, errors: list) -> None:
    with httpx2.Client(base_url=base, timeout=30) as http:
        idle_since = None
        while True:
            claim = http.post("/api/v1/projects/crates/tasks/next/claim", json={"agent_id": name, "lease_seconds": 120})
            if claim.status_code == 204:
                if http.get("/api/v1/projects/crates").json()["status"] == "completed":
                    return
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 60:
                    errors.append(f"{name} waited a minute for a ready task")
                    return
                time.sleep(0.05)  # others are working on what the remaining tasks wait for
                continue
            idle_since = None
            if claim.status_code != 200:
                errors.append(f"{name} claim: {claim.status_code} {claim.text}")
                return
            task = claim.json()
            started = http.post(f"/api/v1/projects/crates/tasks/{task['id']}/start", json={"agent_id": name})
            if started.status_code != 200:
                errors.append(f"{name} start {task['code']}: {started.text}")
                return
            for n, deliverable in enumerate(d for d in task["deliverables"] if d["required"]):
                filename, data = samples.file_for(deliverable["category"], f"{task['code'].lower()}-{n}")
                upload = http.post(
                    "/api/v1/projects/crates/artifacts/files",
                    params={"task_id": task["id"], "category": deliverable["category"], "path": deliverable["name"]},
                    files={"file": (filename, data)},
                )
                if upload.status_code != 201 or upload.json()["validation_status"] != "valid":
                    errors.append(f"{name} upload for {task['code']}: {upload.text}")
                    return
            completed = http.post(
                f"/api/v1/projects/crates/tasks/{task['id']}/complete",
                json={"agent_id": name, "summary": f"{name} finished {task['code']}"},
            )
            if completed.status_code != 200:
                errors.append(f"{name} complete {task['code']}: {completed.text}")
                return
            done_by.setdefault(task["code"], []).append(name)


def test_three_agents_finish_the_plan_without_doing_a_task_twice(live_server, db):
    with httpx2.Client(base_url=live_server.url, timeout=30) as http:
        assert (
            http.post("/api/v1/projects", json={"id": "crates", "name": "Crate Logic", "brief": BRIEF}).status_code
            == 201
        )
        plan = http.post("/api/v1/projects/crates/plans").json()
        assert http.post(f"/api/v1/projects/crates/plans/{plan['version']}/accept").status_code == 200
    assert len(plan["tasks"]) >= 25

    done_by: dict[str, list[str]] = {}
    errors: list[str] = []
    agents = [threading.Thread(target=agent, args=(live_server.url, f"agent-{n}", done_by, errors)) for n in range(3)]
    for thread in agents:
        thread.start()
    for thread in agents:
        thread.join(timeout=600)
    assert errors == []

    assert sorted(done_by) == sorted(t["code"] for t in plan["tasks"])  # none lost
    assert all(len(names) == 1 for names in done_by.values())  # none done twice
    assert len({name for names in done_by.values() for name in names}) > 1  # the work was shared

    with httpx2.Client(base_url=live_server.url) as http:
        project = http.get("/api/v1/projects/crates").json()
        final = http.get("/api/v1/projects/crates/plans/active").json()["tasks"]
        context = http.get("/api/v1/projects/crates/context").json()
    assert project["status"] == "completed"
    assert project["current_task_id"] is None
    by_code = {t["code"]: t for t in final}
    for task in final:  # dependencies respected: nothing started before what it needs was done
        for code in task["dependencies"]:
            assert datetime.fromisoformat(by_code[code]["completed_at"]) <= datetime.fromisoformat(task["started_at"])
    assert len(context["content"]["progress"]["done"]) == len(final)
    with db.read_session() as session:
        completions = session.exec(select(EventDB).where(EventDB.type == "task.completed")).all()
    assert len(completions) == len(final)
