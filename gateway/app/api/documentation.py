"""The answers every route can give besides its own, documented once from what decides them.

A route's own outcomes (its 2xx, a 409 for its conflicts, a 412 for a stale If-Match…) are declared where the
route is. What the layers around every route answer is derived here, so that the OpenAPI document cannot forget
one (issue 11): the gate (401 without valid credentials, 403 when the policy refuses, on every route that is not
public), path parameters (404: no such resource), parameters and bodies (422: invalid; a body also 400 when it is
not readable, 413 when too large), the idempotency layer (409: a keyed request still in progress), and the
database (503: busy, retry after `Retry-After`).
"""

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from gateway.app.api import deps
from gateway.app.api.problems import PROBLEM_MEDIA_TYPE, problems
from gateway.app.auth import policy

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_DATABASE = {deps.get_db, deps.get_store}  # the store's files are indexed by the database too
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}


def _calls(dependant: Any) -> Iterable[Any]:
    for dependency in getattr(dependant, "dependencies", ()):
        yield dependency.call
        yield from _calls(dependency)


def _uses_database(context: Any) -> bool:
    return any(call in _DATABASE for call in _calls(context.dependant))


def standard_statuses(context: Any, method: str) -> set[int]:
    """The statuses the layers around a route can answer for one of its methods."""
    dependant = context.dependant
    action = policy.ROUTES.get(f"{method} {context.path_format}")
    rule = policy.ACTIONS.get(action) if action else None
    public = rule is not None and rule.public
    has_body = context.body_field is not None or "requestBody" in (context.openapi_extra or {})
    has_parameters = has_body or any(
        (dependant.path_params, dependant.query_params, dependant.header_params, dependant.cookie_params)
    )
    statuses: set[int] = set()
    if not public:
        statuses |= {401, 403, 503}  # the gate reads the token from the database
    if dependant.path_params:
        statuses.add(404)
    if has_parameters:
        statuses.add(422)
    if has_body:
        statuses |= {400, 413}
    if method in BODY_METHODS:
        statuses |= {409, 413, 422}  # Idempotency-Key: in progress, malformed or reused
    if _uses_database(context):
        statuses.add(503)
    return statuses


def document_standard_responses(app: FastAPI) -> None:
    """Add the standard problem answers to every documented route (its own declarations win)."""
    for context in iter_route_contexts(app.routes):
        methods = getattr(context, "methods", None)
        if not getattr(context, "include_in_schema", False) or not methods:
            continue
        responses: dict[int | str, dict[str, Any]] = context.responses
        statuses: set[int] = set()
        for method in methods:
            statuses |= standard_statuses(context, method)
        for status, problem in problems(*sorted(statuses)).items():
            if status not in responses and str(status) not in responses:
                responses[status] = {**problem, "headers": RETRY_AFTER} if status == 503 else problem


def _problems_only(document: dict[str, Any]) -> dict[str, Any]:
    """Errors are answered as application/problem+json only: drop the application/json twin FastAPI adds for the
    `model` (kept there so that the Problem schema lands in the components)."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
    return document


def install(app: FastAPI) -> None:
    """Document the standard answers of every route included so far, and serve the document problems-only."""
    document_standard_responses(app)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return _problems_only(generate())

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
