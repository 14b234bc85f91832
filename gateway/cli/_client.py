"""Talking to a gateway over its REST API: connection options, problems as exit code 1, output as table or JSON.

The CLI is a client of the REST API (not of the services in process): the same commands work against a local
gateway and a remote one, and every rule and permission is the server's. Heavy imports happen on first use so
that `gateway --help` stays fast.
"""

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn

import typer

from gateway.cli._console import Text, console

DEFAULT_URL = "http://127.0.0.1:8000"
REFUSED, USAGE = 1, 2

Url = Annotated[
    str,
    typer.Option("--url", envvar="GATEWAY_URL", help="The gateway's base URL", show_default=True),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="GATEWAY_TOKEN", help="Bearer token (needed when the gateway requires one)"),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table")]
Project = Annotated[
    str,
    typer.Option("--project", "-p", envvar="GATEWAY_PROJECT", help="The project's id", show_default=False),
]


class Refused(Exception):
    """The gateway answered with an error (an RFC 9457 problem when it could)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        self.status = status
        self.problem = problem


def fail(message: str, *, code: int = REFUSED, problem: dict[str, Any] | None = None) -> NoReturn:
    """Print why the command failed and exit with its code (1 refused, 2 bad usage)."""
    console.print(Text.assemble(("Error:", "bold red"), " ", message))
    if problem is not None:
        for error in problem.get("errors") or []:
            where = ".".join(str(part) for part in error.get("loc", []))
            console.print(f"  - {where}: {error.get('msg')}", highlight=False, markup=False)
    raise typer.Exit(code)


def usage(message: str) -> NoReturn:
    """Bad usage: a message and exit code 2."""
    fail(message, code=USAGE)


class Gateway:
    """A small REST client for one gateway; every error becomes `Refused`."""

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, *, transport: Any = None) -> None:
        import httpx2

        headers = {"Accept": "application/json", "User-Agent": "gateway-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self.token = token
        self.http = httpx2.Client(base_url=self.url, headers=headers, timeout=60.0, transport=transport)

    def __enter__(self) -> "Gateway":
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, expect_json: bool = True, **kwargs: Any) -> Any:
        """Send a request; answer the JSON body (None for 204), or raise `Refused`."""
        import httpx2

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx2.TransportError as exc:
            fail(f"Cannot reach the gateway at {self.url} ({exc.__class__.__name__}: {exc}). Is it running?")
        self.last = response
        if response.status_code >= 400:
            try:
                problem = response.json()
                if not isinstance(problem, dict):
                    raise ValueError
            except ValueError:
                problem = {"title": response.reason_phrase, "detail": response.text[:500] or None}
            problem.setdefault("status", response.status_code)
            raise Refused(response.status_code, problem)
        if response.status_code == 204 or not response.content:
            return None
        if not expect_json:
            return response
        return response.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def pages(self, path: str, *, params: dict[str, Any] | None = None, limit: int | None = None) -> Iterator[dict]:
        """Every item of a cursor-paginated list (`items`, `next_cursor`)."""
        params = dict(params or {})
        seen = 0
        while True:
            page = self.get(path, params=params)
            for item in page["items"]:
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    POLL_S = 0.5

    def wait_for_job(self, job: dict[str, Any], *, show: bool = True) -> dict[str, Any]:
        """Follow a planning job (202 + job) until it ends, with a spinner; answer the finished job."""
        path = f"/api/v1/jobs/{job['id']}"
        status = console.status(f"Planning job {job['id']}: {job['status']}…", spinner="dots")
        if show:
            status.start()
        try:
            while job["status"] in {"queued", "running"}:
                time.sleep(self.POLL_S)
                job = self.get(path)
                status.update(f"Planning job {job['id']}: {job['status']} (attempt {job.get('attempt', 1)})…")
        finally:
            if show:
                status.stop()
        if job["status"] != "done":
            raise Refused(
                409,
                {"title": f"Planning job {job['status']}", "detail": job.get("error") or f"The job {job['status']}."},
            )
        return job


def connect(url: str, token: str | None) -> Gateway:
    """The client for the command's `--url` and `--token`."""
    return Gateway(url, token)


def handled(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command: a gateway refusal prints the problem's title and detail and exits with 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Refused as exc:
            title = exc.problem.get("title") or f"HTTP {exc.status}"
            detail = exc.problem.get("detail")
            fail(f"{title} ({exc.status})" + (f": {detail}" if detail else ""), problem=exc.problem)

    return wrapper


def emit_json(data: Any) -> None:
    """Print JSON on stdout (for `--json`)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def out() -> Any:
    """A console on stdout for tables."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "120"))
    return Console(soft_wrap=False, width=width, markup=False, highlight=False)


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a table on stdout."""
    from rich.table import Table

    grid = Table(title=Text(title) if title else None, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*[Text("" if cell is None else str(cell)) for cell in row])
    out().print(grid)
