"""Who is asking: the principal a request, tool call or stream acts as. No I/O here: every layer may import it."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import structlog

USER, AGENT = "user", "agent"
ROLE_USER, ROLE_ADMIN, ROLE_AGENT = "user", "admin", "agent"


@dataclass(frozen=True)
class Principal:
    """A user (role user or admin) or an agent (role agent), as authenticated by one token."""

    kind: str
    name: str
    role: str
    id: int | None = None  # principals.id; None for the local user of GATEWAY_AUTH=local
    token_id: int | None = None
    projects: frozenset[str] = field(default_factory=frozenset)  # an agent token's projects
    local: bool = False

    @property
    def label(self) -> str:
        """`user:<name>` or `agent:<name>`: how events and logs name it."""
        return f"{self.kind}:{self.name}"

    @property
    def is_agent(self) -> bool:
        """An AI coding agent (its identity comes from its token)."""
        return self.kind == AGENT

    @property
    def sees_all_projects(self) -> bool:
        """Administrators (and the local user) see every project."""
        return self.role == ROLE_ADMIN

    def audit(self) -> dict[str, Any]:
        """The fields that name it in a log line: never the token, only its id."""
        return {"principal": self.label, "token_id": self.token_id}


# The single person of GATEWAY_AUTH=local: requests without a token act as this user.
LOCAL_USER = Principal(kind=USER, name="local", role=ROLE_ADMIN, local=True)

current: ContextVar[Principal | None] = ContextVar("gateway_principal", default=None)


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Within this block, events and log lines name this principal."""
    token = current.set(principal)
    try:
        if principal is None:
            yield
        else:
            with structlog.contextvars.bound_contextvars(**principal.audit()):
                yield
    finally:
        current.reset(token)
