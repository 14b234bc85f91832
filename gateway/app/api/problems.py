"""RFC 9457 problem responses: every error the API answers with, and how each is documented."""

import sqlite3
from http import HTTPStatus
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gateway.app.errors import Busy, DomainError, ServiceUnavailable, problem_catalogue
from gateway.app.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = get_logger(__name__)


class Problem(BaseModel):
    """An RFC 9457 problem: `type` is stable and names the kind of error; `detail` explains this one."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/not-found",
                    "title": "Resource not found",
                    "status": 404,
                    "detail": "No project with id 'star-courier'.",
                    "instance": "/api/v1/projects/star-courier",
                    "request_id": "9f0c1d7e4b2a4c6f8e1d2c3b4a5f6e7d",
                }
            ]
        },
    )

    type: str = Field(description="A URI reference naming the problem type; see /problems")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = Field(default=None, description="The request's X-Request-ID, for the logs")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Every invalid field, for 422")


def problem_response(
    request: Request | None, *, status: int, slug: str, title: str, detail: str | None, **extensions: Any
) -> JSONResponse:
    """A problem+json response for the request."""
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    request_id = correlation_id.get()
    if request_id:
        body["request_id"] = request_id
    # Extensions add members; they never replace the standard ones (RFC 9457 §3.2).
    body.update({key: value for key, value in extensions.items() if value is not None and key not in body})
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the problem answers a route can give."""
    catalogue = problem_catalogue()
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        kinds = [f"`{slug}`" for slug, entry in catalogue.items() if entry["status"] == status]
        documented[status] = {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": f"{HTTPStatus(status).phrase}: problem type " + " or ".join(kinds),
        }
    return documented


def allowed_methods(routes: Any, scope: Any) -> list[str]:
    """Every method some route answers at the request's path (HEAD with GET, and OPTIONS), for `Allow`."""
    methods = {"OPTIONS"}
    probe = {**scope, "method": "OPTIONS"}
    for context in iter_route_contexts(routes):
        route_methods = getattr(context, "methods", None)
        if not route_methods:
            continue
        matched, child = context.matches(probe)
        if matched != Match.NONE and _names_a_resource(context, child.get("path_params", {})):
            methods |= set(route_methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _names_a_resource(context: Any, path_params: dict[str, Any]) -> bool:
    """Whether the path's segments fit the route's integer parameters ("files" is no artifact id)."""
    for field in getattr(getattr(context, "dependant", None), "path_params", ()):
        if field.field_info.annotation is int and not str(path_params.get(field.alias, "")).isdigit():
            return False
    return True


def _no_such_path(request: Request, exc: RequestValidationError) -> Response | None:
    """A path segment that is not a number where the route wants one names no resource: 404, or 405 when another
    route answers that path (PATCH …/artifacts/files), never 422."""
    if not any(error.get("loc", ("",))[0] == "path" and error.get("type") == "int_parsing" for error in exc.errors()):
        return None
    methods = allowed_methods(request.app.routes, request.scope)
    if methods == ["OPTIONS"]:
        return problem_response(
            request, status=404, slug="route-not-found", title="No such route", detail="No endpoint answers this path."
        )
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": ", ".join(methods)})
    response = problem_response(
        request, status=405, slug="method-not-allowed", title="Method not allowed", detail="Method Not Allowed"
    )
    response.headers["Allow"] = ", ".join(methods)
    return response


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
        for error in exc.errors()
    ]


_HTTP_SLUGS = {404: "route-not-found", 405: "method-not-allowed", 413: "payload-too-large"}


DATABASE_ERRORS = (OperationalError, sqlite3.OperationalError, PoolTimeout)


def _first_line(exc: Exception) -> str:
    return (str(getattr(exc, "orig", exc)).splitlines() or [""])[0][:300]


def database_refusal(exc: Exception) -> DomainError:
    """What a database that cannot serve now is answered with (503, Retry-After), never a 500: busy (SQLite's
    write queue, or no free connection in the pool), or not ready (unreachable, or a schema not migrated)."""
    if isinstance(exc, PoolTimeout) or "locked" in _first_line(exc):
        return Busy("The database stayed busy longer than the gateway waits; nothing was changed. Retry.")
    return ServiceUnavailable("The database cannot be reached or is not migrated; nothing was changed. Retry later.")


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to a problem response, once, for the whole app."""

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        extensions = dict(exc.extensions)
        error = extensions.pop("error", None) if exc.status == 401 else None
        response = problem_response(
            request, status=exc.status, slug=exc.slug, title=exc.title, detail=exc.detail, **extensions
        )
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="gateway"' + (f', error="{error}"' if error else "")
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        misrouted = _no_such_path(request, exc)
        if misrouted is not None:
            return misrouted
        errors = _validation_errors(exc)
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        return problem_response(
            request, status=422, slug="validation-error", title="Invalid input", detail=detail, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route that matched the path only (RFC 9110: all).
            allow = ", ".join(allowed_methods(request.app.routes, request.scope))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            exc.headers = {**(exc.headers or {}), "Allow": allow}
        slug = _HTTP_SLUGS.get(exc.status_code, "http-error")
        known = problem_catalogue().get(slug)
        response = problem_response(
            request,
            status=exc.status_code,
            slug=slug,
            title=known["title"] if known else HTTPStatus(exc.status_code).phrase,
            detail=exc.detail if isinstance(exc.detail, str) else None,
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(OperationalError)
    @app.exception_handler(sqlite3.OperationalError)  # raised as is when a transaction begins
    @app.exception_handler(PoolTimeout)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        refusal = database_refusal(exc)
        log.warning("database unavailable", path=request.url.path, problem=refusal.slug, error=_first_line(exc))
        response = problem_response(
            request, status=refusal.status, slug=refusal.slug, title=refusal.title, detail=refusal.detail
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # Safety net: a number past what the database stores that no schema bound caught (SQLite raises this).
        return problem_response(
            request,
            status=422,
            slug="validation-error",
            title="Invalid input",
            detail="A number is out of range: integers are at most 2^63-1.",
            errors=[{"loc": [], "msg": "integer out of range", "type": "int_range"}],
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            request,
            status=500,
            slug="internal-error",
            title="Internal error",
            detail="An unexpected error occurred; quote the request_id when you report it.",
        )
