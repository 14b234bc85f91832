"""The API's description: `openapi`."""

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli._console import console

app = typer.Typer()


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout")] = None,
) -> None:
    """Print (or write) the OpenAPI document of the API."""
    from gateway.app.main import create_app

    document = json.dumps(create_app().openapi(), indent=2, sort_keys=False) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")
        console.print(f"Wrote {output}")
