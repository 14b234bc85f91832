"""Principals, tokens and project members: issue, list, revoke, authenticate.

A token is 32 random bytes (`gw_…`), shown once when issued; only its SHA-256 is stored (a token has 256 bits of
entropy, so a fast hash is enough and lookups stay one indexed query). Unknown, revoked and expired tokens are
refused alike; the reason goes only to the log.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from gateway.app.auth.principal import AGENT, ROLE_ADMIN, ROLE_AGENT, ROLE_USER, USER, Principal
from gateway.app.db import ApiTokenDB, PrincipalDB, ProjectDB, ProjectMemberDB, TokenProjectDB, utc_now
from gateway.app.errors import Conflict, InvalidInput, NotFound
from gateway.app.logging import get_logger

log = get_logger(__name__)

TOKEN_PREFIX = "gw_"  # noqa: S105 - the prefix that makes a leaked token recognisable, not a secret
NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_TOKEN = re.compile(r"^gw_[A-Za-z0-9_-]{20,100}$")


def digest(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise InvalidInput(
            f"{name[:80]!r} is not a valid name: 1 to 64 letters, digits, '.', '_', '@' or '-'.",
            errors=[{"loc": ["body", "name"], "msg": "invalid name", "type": "pattern"}],
        )


def find(session: Session, *, kind: str, name: str) -> PrincipalDB | None:
    """The principal of that kind and name, if any."""
    return session.exec(select(PrincipalDB).where(PrincipalDB.kind == kind, PrincipalDB.name == name)).first()


def _get_or_create(session: Session, *, kind: str, name: str) -> PrincipalDB:
    row = find(session, kind=kind, name=name)
    if row is None:
        row = PrincipalDB(kind=kind, name=name)
        session.add(row)
        session.flush()
    elif row.disabled_at is not None:
        raise Conflict(f"The {kind} {name!r} is disabled.", principal=f"{kind}:{name}")
    return row


def _require_projects(session: Session, project_ids: list[str]) -> None:
    missing = [pid for pid in project_ids if session.get(ProjectDB, pid) is None]
    if missing:
        raise NotFound(f"No project with id {', '.join(map(repr, missing))}.", resource="project", id=missing[0])


@dataclass(frozen=True)
class Issued:
    """A new token: `secret` is shown once and never stored."""

    secret: str
    token: dict[str, Any]


def issue(
    *,
    session: Session,
    kind: str,
    name: str,
    admin: bool = False,
    projects: list[str] | None = None,
    expires_at: datetime | None = None,
    label: str | None = None,
    created_by: str | None = None,
) -> Issued:
    """Create a token for a user (role user, or admin) or an agent (its projects); the principal is made if new.

    A user's `projects` make the user a member of them; an agent's are the only projects the token may touch.
    """
    projects = sorted(set(projects or []))
    _check_name(name)
    if kind not in (USER, AGENT):
        raise InvalidInput(f"kind must be 'user' or 'agent', not {kind!r}.")
    if kind == AGENT and admin:
        raise InvalidInput("An agent cannot be an administrator.")
    if kind == AGENT and not projects:
        raise InvalidInput(
            "An agent token needs at least one project it may work on.",
            errors=[{"loc": ["body", "projects"], "msg": "at least one project", "type": "missing"}],
        )
    if expires_at is not None and expires_at <= utc_now():
        raise InvalidInput("expires_at is in the past.")
    _require_projects(session, projects)
    principal = _get_or_create(session, kind=kind, name=name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    role = ROLE_AGENT if kind == AGENT else (ROLE_ADMIN if admin else ROLE_USER)
    token = ApiTokenDB(
        principal_id=principal.id,  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
        token_hash=digest(secret),
        prefix=secret[:8],
        role=role,
        label=label,
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    for project_id in projects:
        if kind == AGENT:
            session.add(TokenProjectDB(token_id=token.id, project_id=project_id))  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
        else:
            _add_member(session, project_id, principal)
    session.commit()
    log.info("token issued", token_id=token.id, owner=f"{kind}:{name}", role=role, by=created_by)
    return Issued(secret=secret, token=_describe(session, token, principal))


def _describe(session: Session, token: ApiTokenDB, principal: PrincipalDB) -> dict[str, Any]:
    if token.role == ROLE_AGENT:
        projects = session.exec(select(TokenProjectDB.project_id).where(TokenProjectDB.token_id == token.id)).all()
    else:
        projects = session.exec(
            select(ProjectMemberDB.project_id).where(ProjectMemberDB.principal_id == principal.id)
        ).all()
    now = utc_now()
    state = (
        "revoked"
        if token.revoked_at is not None
        else "expired"
        if token.expires_at is not None and _aware(token.expires_at) <= now
        else "active"
    )
    return {
        "id": token.id,
        "kind": principal.kind,
        "name": principal.name,
        "role": token.role,
        "projects": sorted(projects),
        "prefix": token.prefix,
        "label": token.label,
        "state": state,
        "created_by": token.created_by,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utc_now().tzinfo)


def list_(*, session: Session, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Every token (never a secret), oldest first; only active ones unless asked."""
    rows = session.exec(
        select(ApiTokenDB, PrincipalDB)
        .join(PrincipalDB, col(PrincipalDB.id) == col(ApiTokenDB.principal_id))
        .order_by(col(ApiTokenDB.id))
    ).all()
    described = [_describe(session, token, principal) for token, principal in rows]
    return described if include_inactive else [t for t in described if t["state"] == "active"]


def revoke(*, session: Session, token_id: int, by: str | None = None) -> dict[str, Any]:
    """Revoke a token for good (repeating it is harmless)."""
    token = session.get(ApiTokenDB, token_id)
    if token is None:
        raise NotFound(f"No token with id {token_id}.", resource="token", id=token_id)
    principal = session.get(PrincipalDB, token.principal_id)
    assert principal is not None
    if token.revoked_at is None:
        token.revoked_at = utc_now()
        session.add(token)
        session.commit()
        log.info("token revoked", token_id=token_id, owner=f"{principal.kind}:{principal.name}", by=by)
    return _describe(session, token, principal)


def authenticate(session: Session, secret: str) -> tuple[Principal | None, str]:
    """The principal a token stands for, or None and why not (for the log only: callers answer alike)."""
    if not _TOKEN.match(secret):
        return None, "malformed"
    row = session.exec(
        select(ApiTokenDB, PrincipalDB)
        .join(PrincipalDB, col(PrincipalDB.id) == col(ApiTokenDB.principal_id))
        .where(ApiTokenDB.token_hash == digest(secret))
    ).first()
    if row is None:
        return None, "unknown"
    token, owner = row
    if token.revoked_at is not None:
        return None, "revoked"
    if token.expires_at is not None and _aware(token.expires_at) <= utc_now():
        return None, "expired"
    if owner.disabled_at is not None:
        return None, "disabled"
    projects: frozenset[str] = frozenset()
    if token.role == ROLE_AGENT:
        projects = frozenset(
            session.exec(select(TokenProjectDB.project_id).where(TokenProjectDB.token_id == token.id)).all()
        )
    principal = Principal(
        kind=owner.kind, name=owner.name, role=token.role, id=owner.id, token_id=token.id, projects=projects
    )
    return principal, "ok"


def is_member(session: Session, *, project_id: str, principal_id: int) -> bool:
    """Whether the user belongs to the project."""
    return session.get(ProjectMemberDB, (project_id, principal_id)) is not None


def member_projects(session: Session, *, principal_id: int) -> list[str]:
    """The ids of the projects a user belongs to."""
    return list(
        session.exec(select(ProjectMemberDB.project_id).where(ProjectMemberDB.principal_id == principal_id)).all()
    )


def _add_member(session: Session, project_id: str, user: PrincipalDB) -> None:
    if session.get(ProjectMemberDB, (project_id, user.id)) is None:
        session.add(ProjectMemberDB(project_id=project_id, principal_id=user.id))  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)


def add_member(*, session: Session, project_id: str, name: str) -> dict[str, Any]:
    """Make a user a member of a project (the user is created if new; repeating it is harmless)."""
    _check_name(name)
    _require_projects(session, [project_id])
    user = _get_or_create(session, kind=USER, name=name)
    _add_member(session, project_id, user)
    session.commit()
    log.info("member added", project_id=project_id, member=f"user:{name}")
    return {"name": user.name, "project_id": project_id}


def remove_member(*, session: Session, project_id: str, name: str) -> None:
    """Take a user out of a project (repeating it is harmless)."""
    user = find(session, kind=USER, name=name)
    if user is not None:
        session.exec(
            delete(ProjectMemberDB).where(
                col(ProjectMemberDB.project_id) == project_id, col(ProjectMemberDB.principal_id) == user.id
            )
        )
        session.commit()
        log.info("member removed", project_id=project_id, member=f"user:{name}")


def members(*, session: Session, project_id: str) -> list[str]:
    """The names of a project's users, alphabetically."""
    return sorted(
        session.exec(
            select(PrincipalDB.name)
            .join(ProjectMemberDB, col(ProjectMemberDB.principal_id) == col(PrincipalDB.id))
            .where(ProjectMemberDB.project_id == project_id)
        ).all()
    )


def principals(*, session: Session) -> list[dict[str, Any]]:
    """Every user and agent, with its projects and how many active tokens it holds."""
    active = {t["id"]: t for t in list_(session=session)}
    result = []
    for row in session.exec(select(PrincipalDB).order_by(col(PrincipalDB.kind), col(PrincipalDB.name))).all():
        tokens = [t for t in active.values() if t["kind"] == row.kind and t["name"] == row.name]
        projects = (
            member_projects(session, principal_id=row.id)  # type: ignore[arg-type]  # ids of stored rows are set (SQLModel types them Optional)
            if row.kind == USER
            else sorted({p for t in tokens for p in t["projects"]})
        )
        result.append(
            {
                "id": row.id,
                "kind": row.kind,
                "name": row.name,
                "projects": sorted(projects),
                "active_tokens": len(tokens),
                "disabled": row.disabled_at is not None,
                "created_at": row.created_at,
            }
        )
    return result


def disable(*, session: Session, kind: str, name: str, by: str | None = None) -> None:
    """Disable a user or agent: every token of it stops working at once."""
    row = find(session, kind=kind, name=name)
    if row is None:
        raise NotFound(f"No {kind} named {name!r}.", resource=kind, id=name)
    if row.disabled_at is None:
        row.disabled_at = utc_now()
        session.add(row)
        for token in session.exec(select(ApiTokenDB).where(ApiTokenDB.principal_id == row.id)).all():
            if token.revoked_at is None:
                token.revoked_at = row.disabled_at
                session.add(token)
        session.commit()
        log.info("principal disabled", owner=f"{kind}:{name}", by=by)


def agent_has_tokens(session: Session, name: str) -> bool:
    """Whether an agent of that name holds any token (then it must use one to act under that name)."""
    row = find(session, kind=AGENT, name=name)
    if row is None:
        return False
    return session.exec(select(ApiTokenDB.id).where(ApiTokenDB.principal_id == row.id).limit(1)).first() is not None
