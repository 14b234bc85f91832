"""/api/v1/session (the web UI's login), /api/v1/admin (tokens, users, agents) and project members."""

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from gateway.app.api.deps import CallerDep, DbDep, ReadSessionDep, SessionDep
from gateway.app.api.problems import problems
from gateway.app.api.projects import ProjectId
from gateway.app.api.routing import DocumentedRoute
from gateway.app.auth import tokens
from gateway.app.auth.gate import CSRF_COOKIE, PRINCIPAL, SESSION_COOKIE
from gateway.app.auth.principal import Principal
from gateway.app.db import utc_now
from gateway.app.errors import Unauthorized
from gateway.app.logging import get_logger
from gateway.app.schemas.auth import (
    MemberList,
    Name,
    PrincipalRead,
    SessionCreate,
    SessionRead,
    TokenCreate,
    TokenIssued,
    TokenRead,
)
from gateway.app.schemas.common import API_INT_MAX
from gateway.app.services import projects

router = APIRouter(tags=["identities"], route_class=DocumentedRoute)
log = get_logger("gateway.auth")


def _read(principal: Principal, request: Request, csrf: str | None) -> SessionRead:
    return SessionRead(
        id=principal.id,
        kind=principal.kind,
        name=principal.name,
        role=principal.role,
        token_id=principal.token_id,
        projects=sorted(principal.projects),
        csrf_token=csrf,
        auth_mode=request.app.state.settings.auth_mode,
    )


def _set_csrf(request: Request, response: Response) -> str:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    settings = request.app.state.settings
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=settings.session_max_age_s, path="/", samesite="strict", httponly=False
    )
    return csrf


@router.post("/session", response_model=SessionRead, responses=problems(401, 422))
def create_session(data: SessionCreate, request: Request, response: Response, db: DbDep) -> SessionRead:
    """Log in with a token: sets the HttpOnly `gateway_session` cookie and the `gateway_csrf` cookie.

    A bad token is a 401 whatever the reason (unknown, revoked, expired).
    """
    with db.read_session() as session:
        principal, reason = tokens.authenticate(session, data.token)
    if principal is None:
        log.warning("login failed", reason=reason, client=request.client.host if request.client else "-")
        raise Unauthorized("The token is unknown, revoked or expired.", error="invalid_token")
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        data.token,
        max_age=settings.session_max_age_s,
        path="/",
        samesite="strict",
        httponly=True,
        secure=request.url.scheme == "https",
    )
    csrf = secrets.token_urlsafe(24)
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=settings.session_max_age_s, path="/", samesite="strict", httponly=False
    )
    log.info("login", **principal.audit())
    return _read(principal, request, csrf)


@router.get("/session", response_model=SessionRead, responses=problems(401))
def read_session(request: Request, response: Response) -> SessionRead:
    """Who you are (in local mode without a token: the local user), with the CSRF token to send."""
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None:
        raise Unauthorized("Not logged in: POST /api/v1/session with a token, or send `Authorization: Bearer`.")
    return _read(principal, request, _set_csrf(request, response))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(response: Response) -> None:
    """Log out: both cookies are cleared (the token itself stays valid until revoked)."""
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="strict", httponly=True)
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="strict")


# --- Administration ---------------------------------------------------------------------------------------

TokenId = Annotated[int, Path(ge=1, le=API_INT_MAX, description="The token's id")]


@router.get("/admin/tokens", response_model=list[TokenRead], responses=problems(401, 403))
def list_tokens(
    session: ReadSessionDep,
    include_inactive: Annotated[bool, Query(description="Also revoked and expired tokens")] = False,
) -> list[TokenRead]:
    """List tokens (never their secrets), oldest first."""
    return [TokenRead(**t) for t in tokens.list_(session=session, include_inactive=include_inactive)]


@router.post(
    "/admin/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenIssued,
    responses=problems(401, 403, 404, 409, 422),
)
def issue_token(data: TokenCreate, session: SessionDep, caller: CallerDep) -> TokenIssued:
    """Issue a token for a user or an agent; the answer shows the secret this once."""
    issued = tokens.issue(
        session=session,
        kind=data.kind,
        name=data.name,
        admin=data.admin,
        projects=data.projects,
        expires_at=utc_now() + timedelta(days=data.expires_in_days) if data.expires_in_days else None,
        label=data.label,
        created_by=caller.label,
    )
    return TokenIssued(**issued.token, token=issued.secret)


@router.delete("/admin/tokens/{token_id}", response_model=TokenRead, responses=problems(401, 403, 404))
def revoke_token(token_id: TokenId, session: SessionDep, caller: CallerDep) -> TokenRead:
    """Revoke a token: it stops working at once (repeating it is harmless)."""
    return TokenRead(**tokens.revoke(session=session, token_id=token_id, by=caller.label))


@router.get("/admin/principals", response_model=list[PrincipalRead], responses=problems(401, 403))
def list_principals(session: ReadSessionDep) -> list[PrincipalRead]:
    """List users and agents with their projects and active tokens."""
    return [PrincipalRead(**p) for p in tokens.principals(session=session)]


@router.delete(
    "/admin/principals/{kind}/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 404)
)
def disable_principal(
    kind: Annotated[str, Path(pattern="^(user|agent)$")], name: Name, session: SessionDep, caller: CallerDep
) -> None:
    """Disable a user or agent: every token of it is revoked."""
    tokens.disable(session=session, kind=kind, name=name, by=caller.label)


# --- Project members ------------------------------------------------------------------------------------


@router.get("/projects/{project_id}/members", response_model=MemberList, responses=problems(401, 403, 404))
def list_members(project_id: ProjectId, session: ReadSessionDep) -> MemberList:
    """List the users who belong to a project."""
    projects.get(session=session, project_id=project_id)
    return MemberList(project_id=project_id, members=tokens.members(session=session, project_id=project_id))


@router.put("/projects/{project_id}/members/{name}", response_model=MemberList, responses=problems(401, 403, 404, 422))
def add_member(project_id: ProjectId, name: Name, session: SessionDep) -> MemberList:
    """Make a user a member of the project (the user is created if new)."""
    tokens.add_member(session=session, project_id=project_id, name=name)
    return MemberList(project_id=project_id, members=tokens.members(session=session, project_id=project_id))


@router.delete("/projects/{project_id}/members/{name}", response_model=MemberList, responses=problems(401, 403, 404))
def remove_member(project_id: ProjectId, name: Name, session: SessionDep) -> MemberList:
    """Take a user out of the project."""
    projects.get(session=session, project_id=project_id)
    tokens.remove_member(session=session, project_id=project_id, name=name)
    return MemberList(project_id=project_id, members=tokens.members(session=session, project_id=project_id))
