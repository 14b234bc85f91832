"""Ids that clients hold are never handed out twice, even after the newest row is deleted (issue 11)."""

from sqlalchemy import text

API = "/api/v1"


def test_a_deleted_artifacts_id_is_never_given_to_the_next_upload(client):
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    first = client.post(
        f"{API}/projects/p/artifacts/files", files={"file": ("a.md", b"# old bytes\n", "text/markdown")}
    ).json()
    assert client.delete(f"{API}/projects/p/artifacts/{first['id']}").status_code == 204
    second = client.post(
        f"{API}/projects/p/artifacts/files", files={"file": ("b.md", b"# new bytes\n", "text/markdown")}
    ).json()
    assert second["id"] > first["id"]
    assert client.get(f"{API}/projects/p/artifacts/{first['id']}/content").status_code == 404


def test_a_deleted_tasks_id_is_never_given_to_the_next_task(client):
    client.post(f"{API}/projects", json={"id": "p", "name": "P"}).raise_for_status()
    first = client.post(f"{API}/projects/p/tasks", json={"title": "first"}).json()
    assert client.delete(f"{API}/projects/p/tasks/{first['id']}").status_code == 204
    second = client.post(f"{API}/projects/p/tasks", json={"title": "second"}).json()
    assert second["id"] > first["id"]
    assert client.get(f"{API}/projects/p/tasks/{first['id']}").status_code == 404


def test_sqlite_tables_with_ids_in_urls_use_autoincrement(db, backend):
    if backend != "sqlite":
        return  # PostgreSQL sequences never reuse a value
    with db.engine.connect() as connection:
        sql = dict(connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    for table in ("tasks", "artifacts", "task_plans", "events"):
        assert "AUTOINCREMENT" in sql[table], table
