"""The route class every router uses: OpenAPI summaries from docstrings, and sync endpoints that make one trip to
the thread pool, closing their sessions there."""

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response


def closing_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Run a sync endpoint, then close the sessions it was given, in the same worker thread.

    Left to the dependency's cleanup, a session still open after the endpoint (reads after its commit, a repeat
    that needed no commit) would hold a pooled connection, or SQLite's write lock, while the response is validated
    and the cleanup waits its turn for a thread that the waiters for that lock or connection hold: under 40+
    concurrent writers, a standstill until the busy timeout (issue 11). Closed here, it ends (rolled back,
    connection returned) before the thread is given back; loaded objects stay readable.
    """
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()

    return run


def in_one_thread(endpoint: Callable[..., Any], response_field: Callable[[], Any]) -> Callable[..., Any]:
    """A sync endpoint as an async one that runs it, closes its sessions and validates its answer against the
    response model in one worker thread.

    FastAPI would run a sync endpoint in one worker thread and validate its answer in another: two hand-offs
    (each a GIL switch and a wake-up) per request. FastAPI validates the returned value again on the event loop,
    which for an instance of the response model is an isinstance check; serialising happens there either way.
    """
    if inspect.iscoroutinefunction(endpoint):
        return endpoint
    run = closing_sessions(endpoint)

    def validated(*args: Any, **kwargs: Any) -> Any:
        content = run(*args, **kwargs)
        field = response_field()
        if field is None or isinstance(content, Response):
            return content
        value, errors = field.validate(content, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=content)
        return value

    @functools.wraps(endpoint)
    async def endpoint_in_thread(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(validated, *args, **kwargs)

    return endpoint_in_thread


class DocumentedRoute(APIRoute):
    """APIRoute whose summary is the first line of the endpoint's docstring (the rest is the description), and
    whose sync endpoint runs, closes its sessions and has its answer validated in one worker thread (see
    `in_one_thread` and `closing_sessions`)."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        doc = (endpoint.__doc__ or "").strip()
        if doc and kwargs.get("summary") is None:
            summary, _, rest = doc.partition("\n")
            kwargs["summary"] = summary.strip()
            if kwargs.get("description") is None:
                kwargs["description"] = rest.strip() or None
        super().__init__(path, in_one_thread(endpoint, lambda: self.response_field), **kwargs)
