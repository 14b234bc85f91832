"""Identities over the API: the session, tokens, principals and project members."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, Strict

from gateway.app.jsondoc import JSON_INTEGER, JsonBool
from gateway.app.schemas.common import InputModel, OutputModel

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$", description="A user's or agent's name")]


class SessionCreate(InputModel):
    """Log in to the web UI with a token (it then travels in an HttpOnly cookie, never in JavaScript)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "gw_3q2P…"}]})

    token: Annotated[str, Field(min_length=1, max_length=200)]


class SessionRead(OutputModel):
    """Who you are: the principal your credentials (or local mode) stand for."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "kind": "user",
                    "name": "ada",
                    "role": "admin",
                    "token_id": 3,
                    "projects": [],
                    "csrf_token": "b1c0…",
                    "auth_mode": "required",
                }
            ]
        }
    )

    id: int | None = Field(description="The principal's id (null: the local user of local mode)")
    kind: Literal["user", "agent"]
    name: str
    role: Literal["user", "admin", "agent"]
    token_id: int | None = Field(default=None, description="The id of the token in use (never the token)")
    projects: list[str] = Field(default_factory=list, description="An agent token's projects")
    csrf_token: str | None = Field(description="Send it as X-CSRF-Token on state-changing requests")
    auth_mode: Literal["local", "required"]


class TokenCreate(InputModel):
    """A new token for a user (member of `projects`; `admin` for an administrator) or an agent (its `projects`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "agent", "name": "claude-code-1", "projects": ["star-courier"], "expires_in_days": 30},
                {"kind": "user", "name": "ada", "admin": False, "projects": ["star-courier"]},
            ]
        }
    )

    kind: Literal["user", "agent"]
    name: Name
    admin: JsonBool = False
    projects: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)
    expires_in_days: Annotated[int, Strict(), Field(ge=1, le=3650), JSON_INTEGER] | None = Field(
        default=None, description="Unset: never expires"
    )
    label: Annotated[str | None, Field(max_length=200, description="What it is for")] = None


_TOKEN_EXAMPLE = {
    "id": 7,
    "kind": "agent",
    "name": "claude-code-1",
    "role": "agent",
    "projects": ["star-courier"],
    "prefix": "gw_3q2P1",
    "label": "laptop",
    "state": "active",
    "created_by": "user:ada",
    "created_at": "2026-12-01T10:00:00Z",
    "expires_at": "2026-12-31T10:00:00Z",
    "revoked_at": None,
}


class TokenRead(OutputModel):
    """A token as listed: never its secret, only its first characters."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TOKEN_EXAMPLE]})

    id: int
    kind: Literal["user", "agent"]
    name: str
    role: Literal["user", "admin", "agent"]
    projects: list[str]
    prefix: str = Field(description="The token's first characters, to recognise it")
    label: str | None
    state: Literal["active", "revoked", "expired"]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenRead):
    """A new token: `token` is shown this once and cannot be read again."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_TOKEN_EXAMPLE, "token": "gw_3q2P1…"}]})

    token: str = Field(description="The secret: `Authorization: Bearer <token>`; store it now")


class PrincipalRead(OutputModel):
    """A user or agent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "kind": "user",
                    "name": "ada",
                    "projects": ["star-courier"],
                    "active_tokens": 1,
                    "disabled": False,
                    "created_at": "2026-12-01T10:00:00Z",
                }
            ]
        }
    )

    id: int
    kind: Literal["user", "agent"]
    name: str
    projects: list[str]
    active_tokens: int
    disabled: bool
    created_at: datetime


class MemberList(OutputModel):
    """The users who belong to a project."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"project_id": "star-courier", "members": ["ada"]}]})

    project_id: str
    members: list[str]
