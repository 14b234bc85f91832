"""Uploads are judged by real grammars, with the Godot version the project's brief names."""

import pytest


@pytest.fixture
def project(client):
    def make(project_id: str, engine: str) -> str:
        brief = {"title": "Star", "genre": "platformer-2d", "engine": engine}
        assert client.post("/api/v1/projects", json={"id": project_id, "name": "Star", "brief": brief}).is_success
        return project_id

    return make


def upload(client, project_id: str, name: str, text: str) -> dict:
    response = client.post(f"/api/v1/projects/{project_id}/artifacts/files", files={"file": (name, text.encode())})
    assert response.status_code == 201, response.text
    return response.json()


def report(client, artifact: dict) -> dict:
    return client.get(f"/api/v1/projects/{artifact['project_id']}/artifacts/{artifact['id']}").json()[
        "validation_report"
    ]


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [("player.gd", "func _ready(:\n\tpass\n", "line 1, column 13"), ("B.cs", "void B( { int x = ; }\n", "line 1")],
)
def test_the_issues_syntax_errors_are_invalid(client, project, name, text, where):
    artifact = upload(client, project("g4", "godot"), name, text)
    assert artifact["validation_status"] == "invalid"
    assert f"syntax error at {where}" in report(client, artifact)["errors"][0]


def test_the_briefs_godot_version_picks_the_grammar(client, project):
    godot_3_script = "extends Node\nexport var speed = 1.0\nfunc _ready():\n\tyield(get_tree(), 'idle_frame')\n"
    in_3 = upload(client, project("g3", "Godot 3.5"), "player.gd", godot_3_script)
    assert in_3["validation_status"] == "valid"
    assert report(client, in_3)["info"]["godot_version_from"] == "project"

    in_4 = upload(client, project("g4", "Godot 4"), "player.gd", godot_3_script)
    assert in_4["validation_status"] == "invalid"
    assert "the project uses Godot 4" in report(client, in_4)["errors"][0]
