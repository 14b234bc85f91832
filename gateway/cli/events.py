"""`gateway events`: list a project's events, or follow them live over the WebSocket."""

import json
import sys
import time
from typing import Annotated, Any

import typer

from gateway.cli._client import DEFAULT_URL, AsJson, Token, Url, connect, fail, handled, table
from gateway.cli._client import out as stdout
from gateway.cli._console import Text, console

app = typer.Typer(help="What happened in a project, as it happens.", no_args_is_help=True)
ProjectOpt = Annotated[
    str | None,
    typer.Option("--project", "-p", envvar="GATEWAY_PROJECT", help="The project (default: every project)"),
]
# Close codes after which reconnecting cannot help (docs/events.md).
FINAL = {
    4400: "bad cursor",
    4401: "not authenticated",
    4403: "not allowed",
    4404: "no such project",
    4410: "history gone",
}


def describe(event: dict[str, Any]) -> str:
    """One readable line of what an event says."""
    data = event.get("data") or {}
    keys = ("code", "version", "status", "agent_id", "name", "reason", "summary", "from", "to", "validation_status")
    parts = [f"{key}={data[key]}" for key in keys if data.get(key) not in (None, "")]
    return " ".join(parts)[:160]


def print_event(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    stamp = str(event.get("created_at", ""))[11:19]
    line = Text.assemble(
        (f"{event['seq']:>5} {stamp} ", "dim"),
        (f"{event['type']:<24} ", "bold"),
        f"{event['project_id']} ",
        (str(event.get("actor", "")), "cyan"),
        f" {describe(event)}",
    )
    stdout().print(line, soft_wrap=True)


@app.command("list")
@handled
def list_events(
    project: Annotated[str, typer.Option("--project", "-p", envvar="GATEWAY_PROJECT", help="The project")],
    after: Annotated[int | None, typer.Option(help="Only events after this seq", min=0)] = None,
    limit: Annotated[int, typer.Option(help="At most this many", min=1)] = 100,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List a project's recorded events, oldest first."""
    params: dict[str, Any] = {"limit": min(limit, 500)}
    if after is not None:
        params["after"] = after
    with connect(url, token) as gw:
        items = gw.get(f"/api/v1/projects/{project}/events", params=params)["items"][:limit]
    if as_json:
        sys.stdout.write(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
        return
    table(
        f"Events of {project}",
        ["seq", "time", "type", "actor", "what"],
        [[e["seq"], str(e["created_at"])[:19], e["type"], e.get("actor"), describe(e)] for e in items],
    )


@app.command()
@handled
def follow(
    project: ProjectOpt = None,
    after: Annotated[
        int | None, typer.Option(help="Replay from after this seq (project) or position (all)", min=0)
    ] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many events", min=1)] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Follow events live (Ctrl-C to stop); reconnects after a drop without missing or repeating one."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect as ws_connect

    if project is not None:
        with connect(url, token) as gw:  # a clear 404 before the WebSocket, and a cursor for "from now"
            state = gw.get(f"/api/v1/projects/{project}")
        cursor = after if after is not None else state["event_seq"]
        path, key = f"/api/v1/projects/{project}/events/ws", "seq"
    else:
        cursor, path, key = after, "/api/v1/events/ws", "position"
    base = url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    seen, delay = 0, 0.5
    if not as_json:
        console.print(f"Following {'project ' + project if project else 'every project'} (Ctrl-C to stop)…")
    try:
        while True:
            query = f"?after={cursor}" if cursor is not None else ""
            try:
                with ws_connect(base + path + query, additional_headers=headers, open_timeout=10) as socket:
                    delay = 0.5
                    for raw in socket:
                        frame = json.loads(raw)
                        if frame["kind"] == "event":
                            event = frame["event"]
                            cursor = event[key]
                            print_event(event, as_json)
                            seen += 1
                            if count is not None and seen >= count:
                                return
                        elif frame["kind"] in {"error", "reset"}:
                            fail(f"The gateway refused the subscription: {frame.get('detail') or frame.get('reason')}")
                        elif frame["kind"] == "project_deleted":
                            console.print(f"Project {project} was deleted.")
                            return
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code in FINAL:
                    fail(f"The gateway closed the stream: {FINAL[code]} ({code}).")
            except InvalidStatus as exc:
                fail(f"The gateway refused the WebSocket: HTTP {exc.response.status_code}.")
            except OSError as exc:
                if seen == 0 and cursor is None:
                    fail(f"Cannot reach the gateway at {url}: {exc}")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
    except KeyboardInterrupt:
        if not as_json:
            console.print(f"Stopped after {seen} events.")
