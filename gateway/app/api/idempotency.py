"""Idempotency-Key on POST, PUT and PATCH: a repeated request gets the first answer and changes nothing."""

import hashlib
import re
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.app.api.problems import problem_response
from gateway.app.db import DatabaseManager
from gateway.app.errors import DomainError, InvalidInput
from gateway.app.services import idempotency

HEADER = b"idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED = ("content-type", "location", "etag")
# Streamed uploads are not buffered to fingerprint them, and MCP has its own request ids.
_SKIPPED = ("/artifacts/files", "/mcp")


class IdempotencyMiddleware:
    """Stores the first response to a keyed request and replays it (with `Idempotent-Replayed: true`)."""

    def __init__(self, app: ASGIApp, *, db: DatabaseManager) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = dict(scope.get("headers", ())).get(HEADER) if scope["type"] == "http" else None
        if key is None or scope["method"] not in ("POST", "PUT", "PATCH") or scope["path"].endswith(_SKIPPED):
            await self.app(scope, receive, send)
            return
        text = key.decode("latin-1")
        if not _KEY.match(text):
            invalid = InvalidInput("Idempotency-Key must be 1 to 255 visible ASCII characters.")
            await self._problem(scope, receive, send, invalid)
            return
        # Keys are the caller's own: another principal sending the same key neither replays nor blocks it.
        principal = scope.get("gateway.principal")
        text = f"{principal.label if principal is not None else '-'}/{text}"
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(scope.get("query_string", b"") + b"\n" + body).hexdigest()
        try:
            stored = await anyio.to_thread.run_sync(
                lambda: idempotency.begin(
                    self.db, key=text, method=scope["method"], path=scope["path"], fingerprint=fingerprint
                )
            )
        except DomainError as exc:
            await self._problem(scope, receive, send, exc)
            return
        if stored is not None:
            await _replay(stored, send)
            return
        await self._first(scope, body, send, text)

    async def _first(self, scope: Scope, body: bytes, send: Send, key: str) -> None:
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        response: dict[str, Any] = {"status": 500, "headers": {}, "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = {
                    name.decode("latin-1").lower(): value.decode("latin-1")
                    for name, value in message.get("headers", ())
                    if name.decode("latin-1").lower() in _REPLAYED
                }
            elif message["type"] == "http.response.body":
                response["body"].extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: idempotency.abandon(self.db, key=key))
            raise
        await anyio.to_thread.run_sync(
            lambda: idempotency.finish(
                self.db,
                key=key,
                status_code=response["status"],
                headers=response["headers"],
                body=bytes(response["body"]),
            )
        )

    async def _problem(self, scope: Scope, receive: Receive, send: Send, exc: DomainError) -> None:
        reply = problem_response(
            None,
            status=exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            instance=scope["path"],
            **exc.extensions,
        )
        await reply(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _replay(stored: idempotency.Stored, send: Send) -> None:
    headers = [(name.encode(), value.encode()) for name, value in stored.headers.items()]
    headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(stored.body)).encode())]
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
