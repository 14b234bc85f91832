"""The `gateway` command.

One module per command group; each defines its own `app = typer.Typer()` and is registered below, either
merged into the top level (`app.add_typer(module.app)`: `serve`, `migrate`...) or as a named group
(`app.add_typer(module.app, name="projects")` gives `gateway projects ...`). Modules import heavy things
inside the commands so that `gateway --help` and `gateway version` stay fast.

Commands for people (`projects`, `plans`, `tasks`, `context`, `artifacts`, `events`, `demo`) are clients of
a gateway's REST API (`--url` / `GATEWAY_URL`, `--token` / `GATEWAY_TOKEN`); see gateway/cli/_client.py.
"""

import typer

from gateway.cli import (
    about,
    artifacts,
    context,
    database,
    demo,
    events,
    openapi,
    plans,
    projects,
    server,
    tasks,
    token,
)

app = typer.Typer(help="Gateway: AI-assisted game development backend.", no_args_is_help=True)
app.add_typer(server.app)
app.add_typer(database.app)
app.add_typer(openapi.app)
app.add_typer(about.app)
app.add_typer(demo.app)
app.add_typer(projects.app, name="projects")
app.add_typer(plans.app, name="plans")
app.add_typer(tasks.app, name="tasks")
app.add_typer(context.app, name="context")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(events.app, name="events")
app.add_typer(token.app, name="token")


def main() -> None:
    """Entry point of the console script."""
    app()
