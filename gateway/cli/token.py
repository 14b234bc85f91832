"""`gateway token`: tokens for users and agents, made on the server (whoever can run this administers it)."""

from typing import Annotated

import typer

from gateway.cli._console import console

app = typer.Typer(help="Tokens for users and agents: create (shown once), list, revoke.", no_args_is_help=True)


def _token_db():
    from gateway.app.config import get_settings
    from gateway.app.db import DatabaseManager
    from gateway.app.logging import configure_logging

    settings = get_settings()
    configure_logging("WARNING", settings.log_format)
    return DatabaseManager(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


@app.command("create")
def token_create(
    user: Annotated[str | None, typer.Option(help="A person's name")] = None,
    agent: Annotated[str | None, typer.Option(help="An agent's name")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="The user administers the gateway")] = False,
    project: Annotated[
        list[str] | None, typer.Option(help="A project the agent may work on / the user belongs to (repeatable)")
    ] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="Unset: never expires")] = None,
    label: Annotated[str | None, typer.Option(help="What it is for")] = None,
) -> None:
    """Make a token; it is printed once (on stdout) and stored only as a hash."""
    from datetime import timedelta

    from gateway.app.db import utc_now
    from gateway.app.errors import DomainError

    if (user is None) == (agent is None):
        console.print("[red]Give exactly one of --user NAME and --agent NAME.[/red]")
        raise typer.Exit(2)
    from gateway.app.auth import tokens

    db = _token_db()
    try:
        with db.get_session() as session:
            issued = tokens.issue(
                session=session,
                kind="user" if user else "agent",
                name=user or agent,  # type: ignore[arg-type]  # one of user and agent is given (checked above)
                admin=admin,
                projects=project or [],
                expires_at=utc_now() + timedelta(days=expires_in_days) if expires_in_days else None,
                label=label,
                created_by="cli",
            )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    t = issued.token
    scope = f" for {', '.join(t['projects'])}" if t["projects"] else ""
    console.print(f"Token {t['id']}: {t['kind']} {t['name']}, role {t['role']}{scope}. Shown once; keep it now:")
    typer.echo(issued.secret)


@app.command("list")
def token_list(
    all_: Annotated[bool, typer.Option("--all", help="Also revoked and expired tokens")] = False,
) -> None:
    """List tokens: id, owner, role, projects, state (never the secrets)."""
    from gateway.app.auth import tokens

    db = _token_db()
    try:
        with db.read_session() as session:
            rows = tokens.list_(session=session, include_inactive=all_)
    finally:
        db.dispose()
    if not rows:
        console.print("No tokens yet: `gateway token create --user NAME --admin` makes the first.")
        return
    typer.echo(f"{'id':>4}  {'owner':<28} {'role':<6} {'state':<8} {'prefix':<9} {'expires':<20} projects")
    for t in rows:
        expires = t["expires_at"].isoformat(timespec="minutes") if t["expires_at"] else "never"
        owner = f"{t['kind']}:{t['name']}"
        projects = ",".join(t["projects"]) or "-"
        typer.echo(
            f"{t['id']:>4}  {owner:<28} {t['role']:<6} {t['state']:<8} {t['prefix']:<9} {expires:<20} {projects}"
        )


@app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (gateway token list)")]) -> None:
    """Revoke a token: it stops working at once."""
    from gateway.app.auth import tokens
    from gateway.app.errors import DomainError

    db = _token_db()
    try:
        with db.get_session() as session:
            t = tokens.revoke(session=session, token_id=token_id, by="cli")
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    console.print(f"Token {t['id']} ({t['kind']}:{t['name']}) is revoked.")
