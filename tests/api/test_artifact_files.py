"""Artifact files over HTTP: upload streamed to disk, stored once by SHA-256, validated for real, downloaded safely."""

import hashlib
import socket
import time
from pathlib import Path

import httpx2
import pytest
from sqlmodel import select

from gateway.app.config import Settings
from gateway.app.db import ArtifactDB
from tests import samples


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        log_format="json",
        max_upload_bytes=200_000,
        workspace_root=tmp_path / "workspaces",
    )


@pytest.fixture
def project(client):
    client.post("/api/v1/projects", json={"id": "p", "name": "P"})
    client.post("/api/v1/projects", json={"id": "other", "name": "Other"})
    return "p"


def blobs(settings: Settings) -> list[Path]:
    return [path for path in (settings.artifacts_dir / "sha256").rglob("*") if path.is_file()]


def leftovers(settings: Settings) -> list[Path]:
    tmp = settings.artifacts_dir / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


def upload(client, name: str, data: bytes, **params):
    return client.post("/api/v1/projects/p/artifacts/files", params=params, files={"file": (name, data)})


def test_a_valid_png_is_stored_by_its_hash_and_can_be_downloaded(client, project, settings):
    data = samples.png()
    response = upload(client, "level.png", data, path="art/level.png")
    assert response.status_code == 201, response.text
    artifact = response.json()
    assert (artifact["validation_status"], artifact["category"], artifact["mime_type"]) == (
        "valid",
        "asset",
        "image/png",
    )
    assert (artifact["name"], artifact["path"], artifact["source"]) == ("level.png", "art/level.png", "upload")
    assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
    assert artifact["size_bytes"] == len(data)
    assert artifact["validation_report"]["info"]["width"] == 96
    stored = blobs(settings)
    assert [path.name for path in stored] == [artifact["sha256"]]
    assert stored[0].stat().st_mode & 0o222 == 0  # read-only: artifacts never change once they land
    download = client.get(f"/api/v1/projects/p/artifacts/{artifact['id']}/content")
    assert download.content == data
    assert download.headers["content-type"] == "image/png"
    assert 'filename="level.png"' in download.headers["content-disposition"]


def test_the_same_bytes_are_stored_once(client, project, settings):
    data = samples.png()
    first = upload(client, "a.png", data).json()
    second = upload(client, "b.png", data).json()
    assert first["sha256"] == second["sha256"]
    assert first["id"] != second["id"]
    assert len(blobs(settings)) == 1
    client.delete(f"/api/v1/projects/p/artifacts/{first['id']}")
    assert len(blobs(settings)) == 1  # still used by the second
    client.delete(f"/api/v1/projects/p/artifacts/{second['id']}")
    assert blobs(settings) == []


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("fake.png", b"this is not a png at all", "png"),
        ("cut.png", samples.png(200, 200)[:300], "truncated"),
        ("empty.md", b"", "empty"),
        ("bad.json", b'{"unclosed": ', "json"),
        ("broken.py", b"def f(:\n", "syntax"),
    ],
)
def test_broken_files_are_recorded_as_invalid_with_a_report(client, project, name, data, error):
    response = upload(client, name, data)
    assert response.status_code == 201, response.text
    artifact = response.json()
    assert artifact["validation_status"] == "invalid"
    assert artifact["validation_report"]["errors"], artifact["validation_report"]
    assert error in str(artifact["validation_report"]).lower()


def test_a_declared_category_the_file_cannot_be_is_invalid(client, project):
    artifact = upload(client, "x.png", samples.png(), category="code").json()
    assert artifact["validation_status"] == "invalid"
    assert artifact["category"] == "code"


def test_a_screenshot_is_checked_as_one(client, project):
    tiny = upload(client, "shot.png", samples.png(8, 8), category="screenshot").json()
    good = upload(client, "shot2.png", samples.png(320, 180), category="screenshot").json()
    assert (tiny["validation_status"], good["validation_status"]) == ("invalid", "valid")


def test_a_file_over_the_limit_is_413_and_leaves_nothing(client, project, settings):
    response = upload(client, "big.bin", b"x" * 300_000)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert blobs(settings) == []
    assert leftovers(settings) == []
    assert client.get("/api/v1/projects/p/artifacts").json()["items"] == []


def test_a_file_for_another_projects_task_is_refused_before_any_byte_is_kept(client, project, settings):
    theirs = client.post("/api/v1/projects/other/tasks", json={"title": "Theirs"}).json()
    response = upload(client, "a.png", samples.png(), task_id=theirs["id"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "task_id"]
    assert blobs(settings) == []
    assert (
        client.post("/api/v1/projects/nope/artifacts/files", files={"file": ("a.png", samples.png())}).status_code
        == 404
    )


@pytest.mark.parametrize("path", ["../escape.png", "/etc/passwd", "a/../../b"])
def test_paths_that_escape_the_project_are_refused(client, project, settings, path):
    assert upload(client, "a.png", samples.png(), path=path).status_code == 422
    assert blobs(settings) == []


def test_file_names_with_directories_are_made_safe(client, project):
    artifact = upload(client, "../../etc/passwd.md", b"# hi\n").json()
    assert artifact["name"] == "passwd.md"
    download = client.get(f"/api/v1/projects/p/artifacts/{artifact['id']}/content")
    assert "/" not in download.headers["content-disposition"].split("filename=")[1]


def test_a_body_that_is_not_multipart_or_has_no_file_is_422(client, project):
    assert (
        client.post(
            "/api/v1/projects/p/artifacts/files", content=b"raw", headers={"content-type": "image/png"}
        ).status_code
        == 422
    )
    assert client.post(
        "/api/v1/projects/p/artifacts/files", data={"note": "no file"}, files={"other": ("", b"")}
    ).status_code in (201, 422)
    only_field = client.post("/api/v1/projects/p/artifacts/files", data={"note": "x"}, files=[])
    assert only_field.status_code == 422


def test_revalidation_records_a_new_report(client, project, db):
    artifact = upload(client, "a.md", b"# ok\n").json()
    with db.get_session() as session:  # pretend an older validator had judged it differently
        row = session.get(ArtifactDB, artifact["id"])
        row.validation_status = "invalid"
        session.add(row)
        session.commit()
    again = client.post(f"/api/v1/projects/p/artifacts/{artifact['id']}/validate")
    assert again.status_code == 200
    assert again.json()["validation_status"] == "valid"
    meta = client.post("/api/v1/projects/p/artifacts", json={"name": "n.md", "path": "n.md"}).json()
    assert client.post(f"/api/v1/projects/p/artifacts/{meta['id']}/validate").status_code == 409
    assert client.get(f"/api/v1/projects/p/artifacts/{meta['id']}/content").status_code == 404


def test_workspace_files_are_copied_in_and_escapes_refused(client, project, settings, tmp_path):
    workspace = settings.workspace_for("p")
    (workspace / "scripts").mkdir(parents=True)
    (workspace / "scripts" / "player.ts").write_text("export class Player {}\n")
    outside = tmp_path / "secret.md"
    outside.write_text("# secret\n")
    (workspace / "link.md").symlink_to(outside)
    response = client.post("/api/v1/projects/p/artifacts/workspace", json={"path": "scripts/player.ts"})
    assert response.status_code == 201, response.text
    artifact = response.json()
    assert (artifact["source"], artifact["path"], artifact["validation_status"]) == (
        "workspace",
        "scripts/player.ts",
        "valid",
    )
    (workspace / "scripts" / "player.ts").write_text("changed later\n")
    assert client.get(f"/api/v1/projects/p/artifacts/{artifact['id']}/content").content == b"export class Player {}\n"
    for bad in ("../secret.md", "/etc/passwd", "link.md", "scripts/missing.ts"):
        refused = client.post("/api/v1/projects/p/artifacts/workspace", json={"path": bad})
        assert refused.status_code == 422, (bad, refused.text)


@pytest.mark.sqlite_only
def test_an_interrupted_upload_leaves_no_row_and_no_file(live_server, settings, db):
    httpx2.post(f"{live_server.url}/api/v1/projects", json={"id": "p", "name": "P"})
    boundary = "XyZ"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(
            b"POST /api/v1/projects/p/artifacts/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 150000\r\n\r\n".encode()
            + head
            + b"x" * 60_000
        )
        time.sleep(0.3)  # the server is mid-stream when the client goes away
    deadline = time.monotonic() + 10
    while leftovers(settings) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(settings) == []
    assert blobs(settings) == []
    with db.read_session() as session:
        assert session.exec(select(ArtifactDB)).all() == []


def test_a_stored_files_category_cannot_be_relabelled(client, project):
    artifact = upload(client, "notes.md", b"# notes\n").json()
    relabel = client.patch(f"/api/v1/projects/p/artifacts/{artifact['id']}", json={"category": "screenshot"})
    assert relabel.status_code == 409
    assert (
        client.patch(f"/api/v1/projects/p/artifacts/{artifact['id']}", json={"mime_type": "text/html"}).status_code
        == 409
    )
    assert client.patch(f"/api/v1/projects/p/artifacts/{artifact['id']}", json={"name": "readme.md"}).status_code == 200
    assert client.get(f"/api/v1/projects/p/artifacts/{artifact['id']}").json()["category"] == "document"


def test_revalidating_a_file_that_went_missing_is_a_409(client, project, settings):
    artifact = upload(client, "a.md", b"# a\n").json()
    path = blobs(settings)[0]
    path.chmod(0o644)
    path.unlink()
    assert client.post(f"/api/v1/projects/p/artifacts/{artifact['id']}/validate").status_code == 409


def test_a_multipart_body_cut_before_its_closing_boundary_is_refused(client, project, settings):
    body = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n\r\n# cut short'
    response = client.post(
        "/api/v1/projects/p/artifacts/files", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 422
    assert "closing boundary" in response.json()["detail"]
    assert client.get("/api/v1/projects/p/artifacts").json()["items"] == []


@pytest.mark.parametrize("boundary", ["B" * 257, "B" * 1000])
def test_a_boundary_longer_than_the_parser_takes_is_a_422_not_a_500(client, project, boundary):
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n\r\n# a\r\n--{boundary}--\r\n'
    )
    response = client.post(
        "/api/v1/projects/p/artifacts/files",
        content=body.encode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "boundary" in response.json()["detail"]
    assert client.get("/api/v1/projects/p/artifacts").json()["items"] == []


def test_deleting_a_project_removes_its_files_but_not_shared_ones(client, project, settings):
    mine = samples.png(50, 50)
    shared = samples.png(60, 60)
    upload(client, "mine.png", mine)
    upload(client, "shared.png", shared)
    client.post("/api/v1/projects/other/artifacts/files", files={"file": ("same.png", shared)})
    assert len(blobs(settings)) == 2
    assert client.delete("/api/v1/projects/p").status_code == 204
    assert [path.name for path in blobs(settings)] == [hashlib.sha256(shared).hexdigest()]


@pytest.mark.sqlite_only
def test_the_image_limits_are_settings_that_reach_every_door(settings, db):
    from gateway.app.main import create_app
    from tests.conftest import LocalClient

    small = settings.model_copy(update={"max_image_pixels": 96 * 64 - 1, "image_decode_concurrency": 1})
    assert small.validation_limits.max_concurrent_decodes == 1
    workspace = settings.workspace_for("p")
    workspace.mkdir(parents=True)
    (workspace / "big.png").write_bytes(samples.png(96, 64))
    with LocalClient(create_app(small, db=db)) as client:
        client.post("/api/v1/projects", json={"id": "p", "name": "P"})
        uploaded = upload(client, "big.png", samples.png(96, 64)).json()
        registered = client.post("/api/v1/projects/p/artifacts/workspace", json={"path": "big.png"}).json()
        revalidated = client.post(f"/api/v1/projects/p/artifacts/{uploaded['id']}/validate").json()

    for artifact in (uploaded, registered, revalidated):
        assert artifact["validation_status"] == "invalid"
        assert "96x64 is 6144 pixels, more than 6143" in artifact["validation_report"]["errors"][0]


def test_a_range_the_file_cannot_answer_is_a_416_problem(client, project):
    """Part of a file on request (206); a range past its end, or a malformed one, is a problem, not plain text."""
    data = samples.png()
    artifact = upload(client, "level.png", data).json()
    url = f"/api/v1/projects/p/artifacts/{artifact['id']}/content"
    part = client.get(url, headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.content) == (206, data[:8])
    for wanted in (f"bytes={len(data)}-", "pages=1-2"):
        refused = client.get(url, headers={"Range": wanted})
        assert refused.status_code == 416, wanted
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["size"] == len(data)


def test_a_range_under_a_matching_if_range_is_held_to_the_same_rule(client, project):
    """`If-Range` with the file's own ETag applies the range: a bad one is the same 416 problem, not Starlette's
    plain-text 400/416; a stale `If-Range` means the whole file."""
    data = samples.png()
    artifact = upload(client, "level.png", data).json()
    url = f"/api/v1/projects/p/artifacts/{artifact['id']}/content"
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"Range": "bytes=0-7", "If-Range": etag}).content == data[:8]
    for wanted in (f"bytes={len(data)}-", "bytes=abc"):
        refused = client.get(url, headers={"Range": wanted, "If-Range": etag})
        assert refused.status_code == 416, wanted
        assert refused.headers["content-type"] == "application/problem+json"
    stale = client.get(url, headers={"Range": "bytes=abc", "If-Range": '"stale"'})
    assert (stale.status_code, stale.content) == (200, data)
