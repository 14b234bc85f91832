"""Crash leftovers in the artifact store are collected (at start-up, periodically, by `gateway gc`), never the bytes
of a hand-in in flight; a project's files stay under its storage limit, and a refused file leaves nothing."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.app.config import Settings
from gateway.app.errors import StorageFull
from gateway.app.main import create_app
from gateway.app.services import artifacts
from gateway.app.storage import BlobStore
from tests import samples
from tests.conftest import LocalClient

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        log_format="json",
        workspace_root=tmp_path / "workspaces",
        max_project_storage_bytes=1000,
    )


@pytest.fixture
def store(settings) -> BlobStore:
    return BlobStore(settings.artifacts_dir)


@pytest.fixture
def project(client):
    assert client.post("/api/v1/projects", json={"id": "p", "name": "P"}).status_code == 201
    return "p"


def upload(client, name: str, data: bytes):
    return client.post("/api/v1/projects/p/artifacts/files", files={"file": (name, data)})


def blob_names(store: BlobStore) -> set[str]:
    return {blob.sha256 for blob in store.iter_blobs()}


def temp_files(store: BlobStore) -> list[Path]:
    return list(store.temp_dir.iterdir()) if store.temp_dir.exists() else []


def orphan(store: BlobStore, data: bytes) -> str:
    """Bytes a crash left in the store between writing them and committing their row."""
    blob = store.ingest_bytes(data, max_bytes=len(data))
    blob.release()
    return blob.sha256


def crash_leftover(store: BlobStore) -> Path:
    """A temp file whose writer died a moment ago (nothing holds it)."""
    store.temp_dir.mkdir(parents=True, exist_ok=True)
    path = store.temp_dir / "ingest-crashed.part"
    path.write_bytes(b"the first half of an upload")
    return path


def test_start_up_removes_a_crashs_leftovers_and_keeps_every_referenced_file(settings, db, store, client, project):
    kept = upload(client, "notes.md", b"# Notes\n").json()
    leftover = crash_leftover(store)
    lost = orphan(store, b"bytes whose row was never committed")

    with LocalClient(create_app(settings, db=db)) as restarted:  # a restart: fresh leftovers go too
        assert not leftover.exists()
        assert blob_names(store) == {kept["sha256"]}
        content = restarted.get(f"/api/v1/projects/p/artifacts/{kept['id']}/content")
        assert content.content == b"# Notes\n"
    assert lost not in blob_names(store)


def test_a_collection_while_a_file_is_handed_in_keeps_its_bytes(settings, db, store, client, project, monkeypatch):
    png = samples.png(8, 8)
    already_stored = orphan(store, png)  # the same bytes sit unreferenced in the store: the hand-in reuses them
    fresh = b"# A document nobody had stored\n"
    real_validate = artifacts.validate
    collected: list[artifacts.Collected] = []

    def validate_while_collecting(path, **kwargs):
        # The bytes are in the store, the row is not written yet: the most dangerous moment for a collection.
        collected.append(artifacts.collect_garbage(db, store))
        return real_validate(path, **kwargs)

    monkeypatch.setattr(artifacts, "validate", validate_while_collecting)
    first = upload(client, "icon.png", png)
    second = upload(client, "doc.md", fresh)

    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert [c.blobs for c in collected] == [0, 0]
    assert first.json()["sha256"] == already_stored
    for response, data in ((first, png), (second, fresh)):
        assert client.get(f"{response.headers['location']}/content").content == data
    monkeypatch.undo()
    assert artifacts.collect_garbage(db, store).blobs == 0  # both are referenced now


def test_a_failed_hand_in_forgets_its_bytes_and_leaves_nothing(settings, db, store, client, project):
    response = client.post("/api/v1/projects/p/artifacts/files?task_id=999", files={"file": ("a.md", b"# A\n")})

    assert response.status_code == 422
    assert blob_names(store) == set()
    assert temp_files(store) == []


def test_gateway_gc_collects_from_the_command_line(settings, store, client, project, monkeypatch):
    from gateway.cli import app

    kept = upload(client, "notes.md", b"# Notes\n").json()
    crash_leftover(store)
    lost = orphan(store, b"0123456789")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))

    result = CliRunner().invoke(app, ["gc", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"temp_files": 1, "blobs": 1, "bytes_freed": 10, "blobs_kept": 1}
    assert lost not in blob_names(store)
    assert blob_names(store) == {kept["sha256"]}


# --- the per-project storage limit ------------------------------------------------------------------------


def events_of(client) -> list[str]:
    return [e["type"] for e in client.get("/api/v1/projects/p/events").json()["items"]]


def test_a_file_past_the_projects_storage_limit_is_refused_and_nothing_is_written(client, store, project):
    assert upload(client, "a.md", b"#" * 600).status_code == 201
    before = events_of(client)

    refused = upload(client, "b.md", b"#" * 500)

    assert refused.status_code == 413
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert (problem["type"], problem["limit_bytes"], problem["used_bytes"]) == (
        "/problems/project-storage-full",
        1000,
        600,
    )
    assert "GATEWAY_MAX_PROJECT_STORAGE_BYTES" in problem["detail"]
    assert [a["name"] for a in client.get("/api/v1/projects/p/artifacts").json()["items"]] == ["a.md"]
    assert len(blob_names(store)) == 1
    assert temp_files(store) == []
    assert events_of(client) == before
    assert upload(client, "c.md", b"#" * 400).status_code == 201  # what fits still does


def test_a_full_project_is_refused_before_any_byte_is_read(client, store, project):
    assert upload(client, "a.md", b"#" * 1000).status_code == 201

    refused = upload(client, "tiny.md", b"#")

    assert refused.status_code == 413
    assert refused.json()["used_bytes"] == 1000
    assert temp_files(store) == []
    # Another project has its own room.
    client.post("/api/v1/projects", json={"id": "q", "name": "Q"})
    assert client.post("/api/v1/projects/q/artifacts/files", files={"file": ("a.md", b"# Q\n")}).status_code == 201


def test_the_limit_holds_at_the_commit_when_uploads_race(db, store, client, project, monkeypatch):
    # Two hand-ins both saw room up front; the second to commit finds it gone, under the project's lock.
    assert upload(client, "a.md", b"#" * 700).status_code == 201
    monkeypatch.setattr(artifacts, "room_left", lambda session, project_id, quota: quota)

    refused = upload(client, "b.md", b"@" * 400)

    assert refused.status_code == 413
    assert refused.json()["size_bytes"] == 400
    assert len(blob_names(store)) == 1  # the refused bytes were forgotten


def test_every_door_keeps_the_limit(settings, db, store, client, project):
    workspace = settings.workspace_for("p")
    workspace.mkdir(parents=True)
    (workspace / "big.md").write_bytes(b"#" * 1200)
    target = artifacts.FileTarget("p")

    over_the_workspace_door = client.post("/api/v1/projects/p/artifacts/workspace", json={"path": "big.md"})
    with pytest.raises(StorageFull):  # MCP's submit_artifact with inline content
        artifacts.store_bytes(db, store, target=target, name="x.md", data=b"#" * 1001, max_bytes=10**6, quota=1000)

    assert over_the_workspace_door.status_code == 413
    assert over_the_workspace_door.json()["type"] == "/problems/project-storage-full"
    assert blob_names(store) == set()
    assert temp_files(store) == []


@pytest.mark.anyio
async def test_collection_runs_at_start_up_after_the_temp_grace_and_then_every_interval(monkeypatch):
    import asyncio

    from gateway.app import main

    real_sleep = asyncio.sleep
    naps: list[float] = []
    rounds: list[int] = []

    async def collect(db, store):
        rounds.append(len(naps))

    async def nap(seconds):
        naps.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(main, "collect_storage", collect)
    monkeypatch.setattr(main.asyncio, "sleep", nap)
    async with main.collecting_storage(None, None, 3600):  # type: ignore[arg-type]  # collect is faked
        assert rounds == [0]  # at start-up, before serving
        while len(naps) < 3:
            await real_sleep(0)
    monkeypatch.undo()

    assert naps[:3] == [61.0, 3600, 3600]
    assert rounds[:3] == [0, 1, 2]
