"""About this gateway: `version`."""

import typer

from gateway import __version__

app = typer.Typer()


@app.command()
def version() -> None:
    """Print the gateway's version."""
    typer.echo(__version__)
