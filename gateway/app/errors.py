"""Typed domain errors. Each maps once to an RFC 9457 problem (HTTP) and to an MCP tool error."""

from typing import Any, ClassVar


class DomainError(Exception):
    """A request the domain refuses; nothing was changed."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type(self) -> str:
        """The problem type URI (relative; it resolves to a page served at /problems/{slug})."""
        return f"/problems/{self.slug}"


class Unauthorized(DomainError):
    """No credentials, or a token that is unknown, revoked or expired (all answered alike); see WWW-Authenticate."""

    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    """Your role may not do this here; `permission` names the permission that is missing."""

    status, slug, title = 403, "forbidden", "Permission denied"

    def __init__(self, detail: str, *, permission: str, **extensions: Any) -> None:
        super().__init__(detail, permission=permission, **extensions)


class NotFound(DomainError):
    """No resource with that id (in that project)."""

    status, slug, title = 404, "not-found", "Resource not found"


class AlreadyExists(DomainError):
    """A resource with that id already exists."""

    status, slug, title = 409, "already-exists", "Resource already exists"


class Conflict(DomainError):
    """The resource's current state does not allow the request (e.g. an illegal transition)."""

    status, slug, title = 409, "conflict", "Conflict with the current state"


class IllegalTransition(Conflict):
    """The task's current status does not allow this transition; `current_status` says which it is."""

    status, slug, title = 409, "illegal-transition", "Illegal transition"


class DeliverablesMissing(Conflict):
    """A task cannot be completed until each required deliverable has a valid artifact; `missing` lists them."""

    status, slug, title = 409, "deliverables-missing", "Deliverables missing"


class TaskWithdrawn(DomainError):
    """The task was closed without being done (a re-plan dropped it, or a user cancelled it): nothing more to do
    on it; `reason` says why, and the caller's claim on it, if any, was released."""

    status, slug, title = 410, "task-withdrawn", "Task withdrawn"


class InvalidInput(DomainError):
    """Well-formed input that breaks a rule; `errors` lists every problem, field by field."""

    status, slug, title = 422, "validation-error", "Invalid input"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None, **extensions: Any) -> None:
        super().__init__(detail, errors=errors or [], **extensions)


class PreconditionFailed(DomainError):
    """The version the change was based on is no longer the current one (If-Match)."""

    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(DomainError):
    """The change must name the version it is based on (If-Match), so that no one's edit is lost."""

    status, slug, title = 428, "precondition-required", "Precondition required"


class RangeNotSatisfiable(DomainError):
    """The `Range` asked of a download is malformed or lies past the end of the file; `size` is the file's size."""

    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"


class PayloadTooLarge(DomainError):
    """The body or a file is larger than the configured limit."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class StorageFull(DomainError):
    """The project's stored files would pass its storage limit (`limit_bytes`, `used_bytes`); nothing was stored.
    Delete artifacts it no longer needs, or have the limit raised (GATEWAY_MAX_PROJECT_STORAGE_BYTES)."""

    status, slug, title = 413, "project-storage-full", "Project storage full"


class HistoryGone(DomainError):
    """The events after that position are no longer kept: reload the resource, then follow from its `event_seq`."""

    status, slug, title = 410, "history-gone", "Event history no longer kept"


class ServiceUnavailable(DomainError):
    """The database is unreachable or its schema is not current (run `gateway migrate`)."""

    status, slug, title = 503, "not-ready", "Service not ready"


class Busy(DomainError):
    """The database stayed busy longer than the gateway waits (SQLite's write queue, or no free connection);
    nothing was changed: retry after the `Retry-After` seconds."""

    status, slug, title = 503, "busy", "Too busy, retry"


# Problem types raised outside the domain (by the HTTP layer), documented next to the domain's.
EXTRA_PROBLEMS: dict[str, tuple[int, str, str]] = {
    "route-not-found": (404, "No such route", "No endpoint answers this path."),
    "method-not-allowed": (405, "Method not allowed", "The endpoint exists but not for this method."),
    "http-error": (400, "HTTP error", "Any other error of the HTTP layer; its status and detail say which."),
    "internal-error": (500, "Internal error", "An unexpected failure; the request id identifies it in logs."),
}


def problem_catalogue() -> dict[str, dict[str, Any]]:
    """Every problem type the API can answer with, by slug: status, title and what it means."""
    catalogue: dict[str, dict[str, Any]] = {}
    pending = list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop(0)
        catalogue[cls.slug] = {"status": cls.status, "title": cls.title, "description": cls.__doc__}
        pending.extend(cls.__subclasses__())
    for slug, (status, title, description) in EXTRA_PROBLEMS.items():
        catalogue[slug] = {"status": status, "title": title, "description": description}
    return catalogue
