"""The `gateway` command.

One module per command group; each defines its own `app = typer.Typer()` and is registered below, either
merged into the top level (`app.add_typer(module.app)`: `serve`, `migrate`...) or as a named group
(`app.add_typer(module.app, name="token")` gives `gateway token ...`). Modules import heavy things inside the
commands so that `gateway --help` and `gateway version` stay fast.
"""

import typer

from gateway.cli import about, database, openapi, server, token

app = typer.Typer(help="Gateway: AI-assisted game development backend.", no_args_is_help=True)
app.add_typer(server.app)
app.add_typer(database.app)
app.add_typer(openapi.app)
app.add_typer(about.app)
app.add_typer(token.app, name="token")


def main() -> None:
    """Entry point of the console script."""
    app()
