"""ASGI middleware: request size limit, access log, request ids that anyone may send but no one may abuse."""

import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.app import jsondoc
from gateway.app.api.problems import problem_response
from gateway.app.logging import get_logger

log = get_logger("gateway.access")


class BodyTooLarge(HTTPException):
    """Raised while the body streams in, so that FastAPI passes it on as a 413 rather than a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class BodySizeLimitMiddleware:
    """Refuse bodies over a limit: from Content-Length before reading, or as soon as the stream passes it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit_for(self, path: str) -> int:
        for suffix, limit in self.overrides.items():
            if path.endswith(suffix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            None,
            status=413,
            slug="payload-too-large",
            title="Payload too large",
            detail=f"The request body is larger than {limit} bytes.",
            instance=scope["path"],
        )
        await response(scope, receive, send)


class JsonDepthLimitMiddleware:
    """Refuse a JSON body nested deeper than a limit (422), before anything parses it.

    Deep nesting costs the parser and every later reader stack and time, and past ~255 levels the gateway's own
    encoders cannot write it back: what is stored must stay readable, so it never gets in.
    """

    def __init__(self, app: ASGIApp, *, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(dict(scope["headers"]).get(b"content-type", b"")):
            await self.app(scope, receive, send)
            return
        chunks = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except BodyTooLarge as exc:  # the size limit outside us cut the stream
            response = problem_response(
                None,
                status=413,
                slug="payload-too-large",
                title="Payload too large",
                detail=exc.detail,
                instance=scope["path"],
            )
            await response(scope, receive, send)
            return
        body = b"".join(chunks)
        nesting = jsondoc.text_depth(body, stop_after=self.max_depth)
        if nesting > self.max_depth:
            response = problem_response(
                None,
                status=422,
                slug="validation-error",
                title="Invalid input",
                detail=f"JSON bodies may nest objects and arrays {self.max_depth} levels deep at most.",
                instance=scope["path"],
                errors=[{"loc": ["body"], "msg": f"nested deeper than {self.max_depth} levels", "type": "json_depth"}],
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(content_type: bytes) -> bool:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    # FastAPI parses a body without a Content-Type as JSON too.
    return media_type in (b"", b"application/json") or media_type.endswith(b"+json")


class AccessLogMiddleware:
    """One structured line per request: method, path, status and duration (with the request id)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            principal = scope.get("gateway.principal")
            log.info(
                "request",
                principal=principal.label if principal is not None else None,
                token_id=principal.token_id if principal is not None else None,
                method=scope["method"],
                path=scope["path"],
                status=status["code"],
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                client=(scope.get("client") or ("-",))[0],
            )


class HeadAsGetMiddleware:
    """HEAD answers what GET would, without the body (RFC 9110 §9.3.2): every `Allow` names HEAD with GET, and
    the routes register GET only, so HEAD was a 405 that contradicted its own `Allow`.

    `/mcp` is left alone: its GET opens an event stream, whose headers only a real GET should wait for.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or scope["path"].startswith("/mcp"):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
