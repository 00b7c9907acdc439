"""Administration: API keys for services, the people who log in, and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from sqlalchemy import select

from astralytiq import accounts, api_keys, audit
from astralytiq.accounts import PasswordPolicyError, UserExists, UserNotFound, add_user, fold, update_user
from astralytiq.db import User
from serving.deps import AccessDep, Admin, SessionDep, actor_of
from serving.schemas import (
    DB_ID_MAX,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyOut,
    AuditEventOut,
    IsoDatetime,
    PasswordReset,
    UserCreate,
    UserOut,
    UserUpdate,
)
from serving.security_headers import NO_STORE, NO_STORE_DOC

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def _key_out(info: api_keys.KeyInfo) -> ApiKeyOut:
    return ApiKeyOut(
        id=info.id,
        name=info.name,
        prefix=info.prefix,
        role=info.role,
        models=list(info.models),
        created_at=info.created_at,
        last_used_at=info.last_used_at,
        expires_at=info.expires_at,
        revoked_at=info.revoked_at,
        active=info.active,
    )


def _user_out(user: User) -> UserOut:
    return UserOut(username=user.username, role=user.role, active=user.is_active, created_at=user.created_at)


@router.post(
    "/api-keys",
    response_model=ApiKeyIssued,
    status_code=status.HTTP_201_CREATED,
    responses={201: {"headers": NO_STORE_DOC}},
)
def create_api_key(
    body: ApiKeyCreate, session: SessionDep, principal: Admin, request: Request, response: Response
) -> ApiKeyIssued:
    """Issue a key for a service; the key is in this response only (stored as a hash), which no
    browser or proxy may keep (Cache-Control: no-store)."""
    response.headers.update(NO_STORE)
    expires_at = datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    creator = session.scalar(select(User.id).where(User.username_folded == fold(principal.name)))
    try:
        issued = api_keys.issue(
            session,
            actor_of(principal, request),
            name=body.name,
            role=body.role,
            models=body.models,
            expires_at=expires_at,
            created_by=creator,
        )
    except api_keys.InvalidKeyRequest as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    session.commit()
    return ApiKeyIssued(**_key_out(issued.info).model_dump(), key=issued.key)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(session: SessionDep, principal: Admin, include_revoked: bool = True) -> list[ApiKeyOut]:
    """Every key with its scope, last use (to the minute), expiry and revocation; never the key."""
    return [_key_out(k) for k in api_keys.all_keys(session, include_revoked)]


@router.delete(
    "/api-keys/{key_id}", response_model=ApiKeyOut, responses={404: {"description": "No such key"}}
)
def revoke_api_key(
    key_id: Annotated[int, PathParam(ge=1, le=DB_ID_MAX)],
    session: SessionDep,
    access: AccessDep,
    principal: Admin,
    request: Request,
) -> ApiKeyOut:
    """Revoke a key: refused from now on (by other API processes within the recheck interval)."""
    try:
        info = api_keys.revoke(session, actor_of(principal, request), str(key_id))
    except api_keys.KeyNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    session.commit()
    access.forget_keys()
    return _key_out(info)


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, principal: Admin) -> list[UserOut]:
    return [_user_out(u) for u in session.scalars(select(User).order_by(User.username))]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The username is taken"}},
)
def create_user(body: UserCreate, session: SessionDep, principal: Admin, request: Request) -> UserOut:
    """Create a person who logs in with a password (bcrypt; 8 characters to 72 bytes)."""
    try:
        user = add_user(session, actor_of(principal, request), body.username, body.password, body.role)
    except UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except (PasswordPolicyError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    session.commit()
    return _user_out(user)


@router.patch(
    "/users/{username}",
    response_model=UserOut,
    responses={
        404: {"description": "No such user"},
        409: {"description": "An admin cannot disable or demote themselves"},
    },
)
def change_user(
    username: str,
    body: UserUpdate,
    session: SessionDep,
    access: AccessDep,
    principal: Admin,
    request: Request,
) -> UserOut:
    """Change a user's role, or disable and enable them. A role change or a disable ends every
    session the user has: their tokens stop working (enabling them again does not revive them)."""
    if fold(username) == fold(principal.name) and (body.active is False or body.role not in (None, "admin")):
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="an admin cannot disable or demote themselves; ask another admin"
        )
    try:
        user = update_user(
            session, actor_of(principal, request), username, role=body.role, active=body.active
        )
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    session.commit()
    access.forget_user(username)
    return _user_out(user)


@router.post(
    "/users/{username}/password",
    response_model=UserOut,
    responses={404: {"description": "No such user"}, 422: {"description": "The password breaks the policy"}},
)
def reset_password(
    username: str,
    body: PasswordReset,
    session: SessionDep,
    access: AccessDep,
    principal: Admin,
    request: Request,
) -> UserOut:
    """Set a user's password (for someone who forgot theirs); every session they had ends."""
    try:
        user = accounts.reset_password(session, actor_of(principal, request), username, body.password)
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except PasswordPolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    session.commit()
    access.forget_user(username)
    return _user_out(user)


@router.get("/audit", response_model=list[AuditEventOut])
def audit_log(
    session: SessionDep,
    principal: Admin,
    action: Annotated[
        str | None, Query(max_length=64, description="'model.promote', or a prefix ending in '.': 'api_key.'")
    ] = None,
    target: Annotated[
        str | None, Query(max_length=256, description="A model name, username or api_key:<id>.")
    ] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    since: IsoDatetime | None = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=DB_ID_MAX, description="Page back: events older than this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    """Promotions, rollbacks, key and user changes, newest first."""
    return [
        AuditEventOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            actor_kind=e.actor_kind,
            action=e.action,
            target=e.target,
            detail=e.detail,
            client=e.client,
        )
        for e in audit.events(
            session, action=action, target=target, actor=actor, since=since, before_id=before_id, limit=limit
        )
    ]
