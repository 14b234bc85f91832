"""The route class every router uses: OpenAPI summaries from docstrings, and sessions that end with the endpoint."""

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session


def closing_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Run a sync endpoint, then close the sessions it was given, in the same worker thread.

    FastAPI validates a sync endpoint's response in another worker thread, before any dependency's cleanup
    runs. A session still open then (reads after its commit, a repeat that needed no commit) would hold a pooled
    connection, or SQLite's write lock, while it waits for a thread that the waiters for that lock or connection
    hold: under 40+ concurrent writers, a standstill until the busy timeout (issue 11). Closed here, it ends
    (rolled back, connection returned) before the thread is given back; loaded objects stay readable.
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


class DocumentedRoute(APIRoute):
    """APIRoute whose summary is the first line of the endpoint's docstring (the rest is the description), and
    whose sync endpoint closes its sessions before giving its thread back (see `closing_sessions`)."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        doc = (endpoint.__doc__ or "").strip()
        if doc and kwargs.get("summary") is None:
            summary, _, rest = doc.partition("\n")
            kwargs["summary"] = summary.strip()
            if kwargs.get("description") is None:
                kwargs["description"] = rest.strip() or None
        super().__init__(path, closing_sessions(endpoint), **kwargs)
