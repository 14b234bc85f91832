"""`gateway token create | list | revoke`, the mode `gateway serve` picks, and `gateway mcp` with GATEWAY_TOKEN."""

import pytest
from typer.testing import CliRunner

from gateway.app.auth import tokens
from gateway.app.config import auth_mode_for, is_loopback
from gateway.app.db import DatabaseManager
from gateway.cli import app
from tests.auth.conftest import make_project

pytestmark = pytest.mark.sqlite_only
runner = CliRunner()


@pytest.fixture
def migrated(tmp_path, monkeypatch) -> DatabaseManager:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    db = DatabaseManager(url)
    db.init_db()
    yield db
    db.dispose()


def test_create_list_and_revoke_tokens(migrated):
    made = runner.invoke(app, ["token", "create", "--user", "ada", "--admin", "--label", "first"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("gw_")
    assert "Shown once" in made.stderr
    with migrated.read_session() as session:
        principal, reason = tokens.authenticate(session, secret)
    assert (reason, principal.name, principal.role) == ("ok", "ada", "admin")

    make_project(migrated, "star-courier", accept=False)
    agent = runner.invoke(app, ["token", "create", "--agent", "claude-1", "--project", "star-courier"])
    assert agent.exit_code == 0, agent.output
    listed = runner.invoke(app, ["token", "list"])
    assert listed.exit_code == 0
    assert "user:ada" in listed.stdout
    assert "agent:claude-1" in listed.stdout
    assert "star-courier" in listed.stdout
    assert secret not in listed.stdout
    revoked = runner.invoke(app, ["token", "revoke", "1"])
    assert revoked.exit_code == 0
    assert "user:ada" not in runner.invoke(app, ["token", "list"]).stdout
    assert "revoked" in runner.invoke(app, ["token", "list", "--all"]).stdout
    with migrated.read_session() as session:
        assert tokens.authenticate(session, secret) == (None, "revoked")


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (["--user", "ada", "--agent", "x"], 2),
        ([], 2),
        (["--agent", "claude-1"], 1),  # an agent needs a project
        (["--agent", "claude-1", "--project", "nope"], 1),
        (["--agent", "claude-1", "--project", "nope", "--admin"], 1),
    ],
)
def test_bad_token_requests_are_refused_with_a_reason(migrated, arguments, code):
    result = runner.invoke(app, ["token", "create", *arguments])
    assert result.exit_code == code
    assert result.stdout == ""
    with migrated.read_session() as session:
        assert tokens.list_(session=session, include_inactive=True) == []


def test_revoking_an_unknown_token_says_so(migrated):
    result = runner.invoke(app, ["token", "revoke", "42"])
    assert result.exit_code == 1
    assert "No token with id 42" in result.stderr
    assert "No tokens yet" in runner.invoke(app, ["token", "list"]).stderr


def test_the_mode_depends_on_the_address():
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("[::1]")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.5")
    assert not is_loopback("gateway.lan")
    assert auth_mode_for("127.0.0.1", None) == "local"
    assert auth_mode_for("127.0.0.1", "required") == "required"
    assert auth_mode_for("0.0.0.0", None) == "required"
    with pytest.raises(ValueError, match="GATEWAY_AUTH=local"):
        auth_mode_for("0.0.0.0", "local")


def test_serve_refuses_local_mode_off_loopback(monkeypatch):
    monkeypatch.setenv("GATEWAY_AUTH", "local")
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "Refusing to start" in result.stderr


def test_mcp_on_stdio_needs_a_valid_token_when_required(migrated, monkeypatch):
    monkeypatch.setenv("GATEWAY_AUTH", "required")
    missing = runner.invoke(app, ["mcp"])
    assert missing.exit_code == 2
    assert "GATEWAY_TOKEN" in missing.stderr
    monkeypatch.setenv("GATEWAY_TOKEN", "gw_" + "Z" * 43)
    bad = runner.invoke(app, ["mcp"])
    assert bad.exit_code == 2
    assert "not a valid token" in bad.stderr
