"""A route class that takes each endpoint's one-line docstring as its OpenAPI summary."""

from typing import Any

from fastapi.routing import APIRoute


class DocumentedRoute(APIRoute):
    """APIRoute whose summary is the first line of the endpoint's docstring (the rest is the description)."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        doc = (endpoint.__doc__ or "").strip()
        if doc and kwargs.get("summary") is None:
            summary, _, rest = doc.partition("\n")
            kwargs["summary"] = summary.strip()
            if kwargs.get("description") is None:
                kwargs["description"] = rest.strip() or None
        super().__init__(path, endpoint, **kwargs)
