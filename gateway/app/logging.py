"""Structured logging: one JSON object per line on stderr, every line carrying the request's id."""

import logging
import re
import sys
from typing import Any

import structlog
from asgi_correlation_id import correlation_id

_configured: tuple[str, str] | None = None
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def valid_request_id(value: str) -> bool:
    """A client's X-Request-ID is kept when it is a short token (no spaces, no control characters)."""
    return bool(_REQUEST_ID.match(value))


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is logged (test runners and tools swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def add_request_id(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Stamp the current request's correlation id on the line (unless it already carries one)."""
    request_id = correlation_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and the standard library (uvicorn, alembic…) through one renderer on stderr."""
    global _configured  # noqa: PLW0603 - logging is process-wide by nature
    if _configured == (level, fmt):
        return
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        named = logging.getLogger(name)
        named.handlers = []
        named.propagate = True
    # uvicorn's access lines would duplicate ours (which carry the request id and duration).
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic announces its dialect every time the schema revision is read (each /ready); keep its warnings.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    for chatty in ("httpx", "httpx2"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    _configured = (level, fmt)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger for a module."""
    return structlog.stdlib.get_logger(name)
