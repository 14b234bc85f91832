"""/api/v1/projects/{project_id}/events and /api/v1/events: the event log over HTTP, and live over WebSocket.

No authentication exists yet. When it does, it plugs in before `websocket.accept()` in `_serve` (a refused
subscriber is closed with 4401 or 4403) and as a dependency of the two HTTP routes; the all-projects stream
will then carry only the projects the caller may see.
"""

import contextlib
import time
from typing import Annotated, Any

import anyio
from asgi_correlation_id import correlation_id
from fastapi import APIRouter, Query, WebSocket
from pydantic import ConfigDict, Field

from gateway.app.api.deps import DEFAULT_LIMIT, Limit, ReadSessionDep
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.db import DatabaseManager
from gateway.app.errors import DomainError, HistoryGone, InvalidInput, NotFound
from gateway.app.logging import get_logger
from gateway.app.outbox import CloseCode, EventRead
from gateway.app.schemas.common import API_INT_MAX, OutputModel
from gateway.app.services import event_log
from gateway.app.services.event_streams import ALL, Ending, EventHub, Subscription, control

router = APIRouter(tags=["events"], route_class=DocumentedRoute)
log = get_logger(__name__)

After = Annotated[
    int | None,
    Query(
        ge=0, le=API_INT_MAX, description="Return the events after this cursor (default: from the oldest kept event)"
    ),
]
_EXAMPLE_EVENT = EventRead.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]  # pydantic types json_schema_extra loosely; this model's examples are a literal list


class EventPage(OutputModel):
    """Events after a cursor, oldest first; pass `next_after` back as `after` for the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EXAMPLE_EVENT], "head": 12, "next_after": None}]}
    )

    items: list[EventRead]
    head: int = Field(description="The newest cursor when this page was read (seq, or position for all projects)")
    next_after: int | None = Field(description="`after` for the next page; null when this page reached the head")


@router.get("/projects/{project_id}/events", response_model=EventPage, responses=problems(404, 410, 422))
def list_project_events(
    project_id: ProjectId, session: ReadSessionDep, after: After = None, limit: Limit = DEFAULT_LIMIT
) -> EventPage:
    """List a project's events after a seq, oldest first, one page at a time.

    `after` is the seq of the last event you have (the project's `event_seq` after loading it). An `after`
    older than the oldest kept event is a 410 `history-gone` problem carrying `oldest_seq`: reload the project
    and follow from its `event_seq`. Live delivery of the same events: `/api/v1/projects/{id}/events/ws`.
    """
    page = event_log.list_(session=session, project_id=project_id, after=after, limit=limit)
    return EventPage(items=page.items, head=page.head, next_after=page.next_after)


@router.get("/events", response_model=EventPage, responses=problems(410, 422))
def list_events(session: ReadSessionDep, after: After = None, limit: Limit = DEFAULT_LIMIT) -> EventPage:
    """List every project's events after a global position, in commit order, one page at a time.

    The cursor is each event's `position`. Live delivery of the same events: `/api/v1/events/ws`.
    """
    page = event_log.list_all(session=session, after=after, limit=limit)
    return EventPage(items=page.items, head=page.head, next_after=page.next_after)


@router.websocket("/projects/{project_id}/events/ws")
async def project_events_ws(websocket: WebSocket, project_id: str) -> None:
    """Stream a project's events after `?after=SEQ` (default: from now), then live; see docs/events.md."""
    await _serve(websocket, project_id)


@router.websocket("/events/ws")
async def all_events_ws(websocket: WebSocket) -> None:
    """Stream every project's events after `?after=POSITION` (default: from now), then live."""
    await _serve(websocket, ALL)


def _parse_after(raw: str | None) -> int | None:
    if raw is None:  # left out: from now; `after=` (empty) names no position and is refused like any bad value
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) > API_INT_MAX:
        raise InvalidInput(f"`after` must be a non-negative integer, not {raw[:40]!r}.")
    return int(raw)


def _start(db: DatabaseManager, key: str | None, after: int | None) -> tuple[int, int]:
    """Where the subscription starts and the stream's head; raises what the subscriber must be told."""
    with db.read_session() as session:
        if key is ALL:
            if after is None:
                head = event_log.global_head(session=session)
                return head, head
            return event_log.check_after_all(session=session, after=after)
        if after is None:
            head = event_log.head(session=session, project_id=key)
            return head, head
        return event_log.check_after(session=session, project_id=key, after=after)


def _refusal(exc: DomainError) -> tuple[int, str, dict[str, Any]]:
    """The close code, the control message kind and its fields for a refused subscription."""
    fields = {"reason": exc.slug.replace("-", "_"), "detail": exc.detail}
    fields.update({k: v for k, v in exc.extensions.items() if k in {"head", "oldest_seq", "oldest_position"}})
    if isinstance(exc, HistoryGone):
        return CloseCode.HISTORY_GONE, "reset", {**fields, "reason": "history_gone"}
    if isinstance(exc, NotFound):
        return CloseCode.NOT_FOUND, "error", {"code": int(CloseCode.NOT_FOUND), **fields, "reason": "unknown_project"}
    return CloseCode.BAD_REQUEST, "error", {"code": int(CloseCode.BAD_REQUEST), **fields, "reason": "invalid_after"}


async def _serve(websocket: WebSocket, key: str | None) -> None:
    hub: EventHub = websocket.app.state.events
    stream = "all" if key is ALL else key
    request_id = correlation_id.get() or ""
    started = time.monotonic()
    # Accept first, then refuse with a close code: browsers never see an HTTP denial, but they see the code.
    await websocket.accept(headers=[(b"x-request-id", request_id.encode())])
    try:
        after = _parse_after(websocket.query_params.get("after"))
        start, head = await anyio.to_thread.run_sync(_start, hub.db, key, after)
    except DomainError as exc:
        code, kind, fields = _refusal(exc)
        log.info("events subscriber refused", stream=stream, code=code, reason=fields["reason"])
        await websocket.send_text(control(kind, **fields))
        await websocket.close(code=code, reason=fields["reason"])
        return
    subscription = hub.subscribe(key, after=start, head=head)
    log.info("events subscriber connected", stream=stream, after=start, head=head)
    code, reason = 1000, "client closed"
    try:
        hello = {"stream": "all" if key is ALL else "project", "project_id": key, "after": start, "head": head}
        await websocket.send_text(
            control("hello", **hello, heartbeat_s=hub.settings.heartbeat_s, request_id=request_id)
        )
        ending = await _deliver_until_closed(websocket, subscription)
        if ending is not None:
            code, reason = int(ending.code), ending.reason
            with contextlib.suppress(Exception):  # the client may be gone already
                await websocket.close(code=code, reason=reason)
    finally:
        hub.unsubscribe(subscription)
        log.info(
            "events subscriber closed",
            stream=stream,
            code=code,
            reason=reason,
            delivered=subscription.delivered,
            cursor=subscription.cursor,
            duration_s=round(time.monotonic() - started, 3),
        )


async def _deliver_until_closed(websocket: WebSocket, subscription: Subscription) -> Ending | None:
    """Run the subscription until it ends (how to close) or the client leaves (None)."""
    outcome: list[Ending | None] = []
    async with anyio.create_task_group() as group:

        async def deliver() -> None:
            outcome.append(await subscription.run(websocket.send_text))
            group.cancel_scope.cancel()

        async def client_left() -> None:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass  # the protocol has nothing for clients to say; anything they send is ignored
            group.cancel_scope.cancel()

        group.start_soon(deliver)
        group.start_soon(client_left)
    return outcome[0] if outcome else None
