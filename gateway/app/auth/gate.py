"""The gate every HTTP request and WebSocket passes before anything else runs (nothing is written when it refuses).

In order: the Host header must be one of ours (DNS rebinding); a state-changing request or a WebSocket upgrade
from a foreign Origin is refused (a web page the developer visits cannot drive the gateway); the credentials
(bearer token, `?token=` on WebSockets, or the web session cookie) name the principal; a cookie-authenticated
state-changing request must carry the CSRF token; then the route's action is decided by `policy`. Refusals are
401 (with WWW-Authenticate) or 403 problems, and 4401/4403 close codes on WebSockets.
"""

import fnmatch
import hmac
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.datastructures import Headers
from starlette.routing import Mount, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.app.api.problems import DATABASE_ERRORS, database_refusal, problem_response
from gateway.app.auth import policy, tokens
from gateway.app.auth.principal import LOCAL_USER, Principal, acting_as
from gateway.app.config import Settings, is_loopback
from gateway.app.db import DatabaseManager
from gateway.app.errors import DomainError, Forbidden, Unauthorized
from gateway.app.logging import get_logger
from gateway.app.outbox import CloseCode

log = get_logger("gateway.auth")

PRINCIPAL = "gateway.principal"  # scope key: the Principal the request acts as (None: anonymous)
VIA = "gateway.auth_via"  # scope key: "bearer", "query", "cookie" or None
SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER = "gateway_session", "gateway_csrf", "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PATH = "/api/v1/session"
CHALLENGE = 'Bearer realm="gateway"'


@dataclass(frozen=True)
class RouteEntry:
    """One route of the app, as the policy names it."""

    key: str
    regex: re.Pattern[str] | None
    convertors: dict[str, Any]
    methods: frozenset[str] | None
    websocket: bool
    prefix: str | None = None  # Mounts match everything under their path


def route_table(routes: Sequence[Any]) -> list[RouteEntry]:
    """Every route of the app with the policy key of each method ("GET /x", "WS /x", "ANY /x", "MOUNT /x")."""
    table: list[RouteEntry] = []
    for context in iter_route_contexts(routes):
        original = context.original_route
        if isinstance(original, Mount):
            table.append(RouteEntry(f"MOUNT {original.path}", None, {}, None, False, prefix=original.path))
            continue
        path = context.path or ""
        regex, _format, convertors = compile_path(path)
        websocket = isinstance(original, APIWebSocketRoute) or type(original).__name__ == "WebSocketRoute"
        methods = frozenset(context.methods or ()) if getattr(context, "methods", None) else None
        key = f"WS {path}" if websocket else path
        table.append(RouteEntry(key, regex, convertors, methods, websocket))
    return table


def policy_keys(entry: RouteEntry) -> list[str]:
    """The ROUTES keys an entry needs a decision for."""
    if entry.websocket or entry.prefix is not None:
        return [entry.key]
    if entry.methods is None:
        return [f"ANY {entry.key}"]
    return [f"{method} {entry.key}" for method in sorted(entry.methods) if method != "HEAD"]


def match(table: list[RouteEntry], scope: Scope) -> tuple[str, dict[str, Any]] | None:
    """The policy key and path parameters of the route that will answer, or None (the app answers 404/405)."""
    path = scope["path"]
    websocket = scope["type"] == "websocket"
    method = "GET" if scope.get("method") == "HEAD" else scope.get("method", "")
    for entry in table:
        if entry.prefix is not None:
            if not websocket and (path == entry.prefix or path.startswith(entry.prefix.rstrip("/") + "/")):
                return entry.key, {}
            continue
        if entry.websocket != websocket or entry.regex is None:
            continue
        found = entry.regex.match(path)
        if found is None:
            continue
        params = {name: entry.convertors[name].convert(value) for name, value in found.groupdict().items()}
        if websocket:
            return entry.key, params
        if entry.methods is None:
            return f"ANY {entry.key}", params
        if method in entry.methods:
            return f"{method} {entry.key}", params
    return None


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether a Host header is one of the allowed patterns ("name", "name:port", "name:*")."""
    host = host.lower()
    return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in allowed)


def origin_allowed(origin: str, *, scheme: str, host: str, allowed: list[str]) -> bool:
    """Same origin as the request (the gateway's own pages), or explicitly allowed."""
    if origin.lower() == f"{scheme}://{host}".lower():
        return True
    return any(fnmatch.fnmatchcase(origin.lower(), pattern.lower()) for pattern in allowed)


def _cookies(headers: Headers) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                cookies.setdefault(name, value)
    return cookies


class Gate:
    """ASGI middleware: Host, Origin, credentials, CSRF and the policy, for every request and WebSocket."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, db: DatabaseManager, routes: Callable[[], Sequence[Any]]
    ) -> None:
        self.app = app
        self.settings = settings
        self.db = db
        self.routes = routes
        self._table: list[RouteEntry] | None = None
        self.sockets: Counter[str] = Counter()

    @property
    def table(self) -> list[RouteEntry]:
        """The route table, built on first use (after every router was included)."""
        if self._table is None:
            self._table = route_table(self.routes())
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        client = (scope.get("client") or ("-",))[0]
        if not host_allowed(host, self.settings.allowed_hosts):
            log.warning("refused: host not allowed", host=host[:200], path=scope["path"], client=client)
            await self._refuse(
                scope,
                receive,
                send,
                421,
                "host-not-allowed",
                "Misdirected request",
                f"Host {host[:100]!r} is not one this gateway answers to (GATEWAY_ALLOWED_HOSTS).",
            )
            return
        origin = headers.get("origin")
        state_changing = websocket or scope["method"] not in SAFE_METHODS
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        if (
            origin is not None
            and state_changing
            and not origin_allowed(origin, scheme=scheme or "http", host=host, allowed=self.settings.allowed_origins)
        ):
            log.warning("refused: foreign origin", origin=origin[:200], path=scope["path"], client=client)
            await self._refuse(
                scope,
                receive,
                send,
                403,
                "origin-not-allowed",
                "Origin not allowed",
                f"Requests from {origin[:100]!r} may not change anything here (GATEWAY_ALLOWED_ORIGINS).",
            )
            return
        try:
            principal, via = await self._authenticate(scope, headers, websocket=websocket, client=client)
            logging_in = scope["path"] == SESSION_PATH and scope.get("method") == "POST"  # brings its own token
            if via == "cookie" and state_changing and not websocket and not logging_in:
                self._check_csrf(headers)
            found = match(self.table, scope)
            if found is not None:
                key, params = found
                await self._decide(principal, key, params)
        except DomainError as exc:
            await self._refuse_error(scope, receive, send, exc, websocket=websocket)
            return
        except DATABASE_ERRORS as exc:  # looking up the token or the membership: outside the app's handlers
            log.warning("database unavailable", path=scope["path"], error=repr(exc)[:300])
            await self._refuse_error(scope, receive, send, database_refusal(exc), websocket=websocket)
            return
        scope[PRINCIPAL] = principal
        scope[VIA] = via
        if websocket and principal is not None:
            await self._serve_socket(principal, scope, receive, send)
            return
        with acting_as(principal):
            await self.app(scope, receive, send)

    async def _authenticate(
        self, scope: Scope, headers: Headers, *, websocket: bool, client: str
    ) -> tuple[Principal | None, str | None]:
        secret, via = None, None
        authorization = headers.get("authorization")
        cookies = _cookies(headers)
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            secret, via = (value.strip() if scheme.lower() == "bearer" else ""), "bearer"
        elif websocket and "token" in (query := parse_qs(scope.get("query_string", b"").decode("latin-1"))):
            secret, via = query["token"][0], "query"
        elif SESSION_COOKIE in cookies:
            secret, via = cookies[SESSION_COOKIE], "cookie"
            if scope["path"] == SESSION_PATH:
                # Logging in again (or out) with a stale cookie must work: the session routes ignore it if bad.
                principal, _reason = await anyio.to_thread.run_sync(self._lookup, secret)
                return (principal, via) if principal is not None else self._anonymous(scope)
        if secret is None:
            return self._anonymous(scope)
        principal, reason = await anyio.to_thread.run_sync(self._lookup, secret)
        if principal is None:
            # One answer whatever the reason (unknown, revoked, expired, malformed): only the log tells them apart.
            log.warning("authentication failed", reason=reason, via=via, path=scope["path"], client=client)
            raise Unauthorized("The token is missing, unknown, revoked or expired.", error="invalid_token")
        return principal, via

    def _anonymous(self, scope: Scope) -> tuple[Principal | None, None]:
        # Local mode serves this machine's one person: a request from anywhere else (a proxy's client, a
        # mis-bound port) is anonymous whatever its Host header says.
        client = (scope.get("client") or ("",))[0]
        local = self.settings.auth_mode == "local" and is_loopback(client)
        return (LOCAL_USER if local else None), None

    def _lookup(self, secret: str) -> tuple[Principal | None, str]:
        with self.db.read_session() as session:
            return tokens.authenticate(session, secret)

    def _check_csrf(self, headers: Headers) -> None:
        expected = _cookies(headers).get(CSRF_COOKIE, "")
        sent = headers.get(CSRF_HEADER, "")
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            raise Forbidden(
                "A request authenticated by the session cookie must send X-CSRF-Token (the gateway_csrf cookie).",
                permission="csrf-token",
            )

    async def _decide(self, principal: Principal | None, key: str, params: dict[str, Any]) -> None:
        action = policy.ROUTES.get(key)
        if action is None:
            log.warning("route without an authorization decision", route=key)
        project_id = params.get("project_id")
        rule = policy.ACTIONS.get(action) if action else None
        if project_id is None and rule is not None and rule.scoped:
            for name, resolve in policy.PROJECT_OF.items():
                if name in params:
                    project_id = await anyio.to_thread.run_sync(self._resolve, resolve, str(params[name]))
                    break
        membership: dict[str, bool] = {}
        if (
            rule is not None
            and rule.scoped
            and principal is not None
            and principal.id is not None
            and not principal.is_agent
            and not principal.sees_all_projects
            and project_id is not None
        ):
            membership[project_id] = await anyio.to_thread.run_sync(self._is_member, project_id, principal.id)
        policy.decide(
            principal, action, project_id=project_id, is_member=lambda pid: bool(membership.get(pid)), what=key
        )

    def _resolve(self, resolve: Callable[[Any, str], str | None], value: str) -> str | None:
        with self.db.read_session() as session:
            return resolve(session, value)

    def _is_member(self, project_id: str, principal_id: int) -> bool:
        with self.db.read_session() as session:
            return tokens.is_member(session, project_id=project_id, principal_id=principal_id)

    async def _serve_socket(self, principal: Principal, scope: Scope, receive: Receive, send: Send) -> None:
        holder = f"token:{principal.token_id}" if principal.token_id is not None else principal.label
        if self.sockets[holder] >= self.settings.ws_max_per_token:
            log.warning("refused: too many websockets", holder=holder, limit=self.settings.ws_max_per_token)
            await self._close_socket(receive, send, int(CloseCode.TOO_MANY_CONNECTIONS), "too_many_connections")
            return
        self.sockets[holder] += 1
        try:
            with acting_as(principal):
                await self.app(scope, receive, send)
        finally:
            self.sockets[holder] -= 1
            if self.sockets[holder] <= 0:
                del self.sockets[holder]

    async def _refuse_error(
        self, scope: Scope, receive: Receive, send: Send, exc: DomainError, *, websocket: bool
    ) -> None:
        log.info("refused", status=exc.status, problem=exc.slug, path=scope["path"], **exc.extensions)
        if websocket:
            code = {401: CloseCode.UNAUTHORIZED, 503: CloseCode.INTERNAL_ERROR}.get(exc.status, CloseCode.FORBIDDEN)
            await self._close_socket(receive, send, int(code), exc.slug)
            return
        await self._refuse(scope, receive, send, exc.status, exc.slug, exc.title, exc.detail, **exc.extensions)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, slug: str, title: str, detail: str, **extra: Any
    ) -> None:
        if scope["type"] == "websocket":
            # Host and Origin refusals come before the handshake: the browser gets an HTTP 403, no socket.
            await send({"type": "websocket.close", "code": int(CloseCode.FORBIDDEN), "reason": slug})
            return
        error = extra.pop("error", None)
        response = problem_response(
            None, status=status, slug=slug, title=title, detail=detail, instance=scope["path"], **extra
        )
        if status == 401:
            response.headers["WWW-Authenticate"] = challenge(error)
        if status == 503:
            response.headers["Retry-After"] = "1"
        await response(scope, receive, send)

    @staticmethod
    async def _close_socket(receive: Receive, send: Send, code: int, reason: str) -> None:
        # Accept, then close with the code: browsers never see an HTTP denial's status, but they see close codes.
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": code, "reason": reason})


def challenge(error: str | None = None) -> str:
    """The WWW-Authenticate header of a 401 (RFC 6750)."""
    return CHALLENGE + (f', error="{error}"' if error else "")
