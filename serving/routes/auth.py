"""Log in (OAuth2 password flow) and ask who you are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from astralytiq.accounts import burn_password_check, verify_password
from astralytiq.db import User
from serving import auth
from serving.deps import CurrentPrincipal, SessionDep, SettingsDep
from serving.login_throttle import LoginThrottle
from serving.schemas import Me, TokenResponse

router = APIRouter(prefix="/v1/auth", tags=["auth"])

BAD_LOGIN = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="incorrect username or password",
    headers={"WWW-Authenticate": "Bearer"},
)


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        401: {"description": "Bad credentials"},
        429: {"description": "Too many failed logins for this account or client; see Retry-After"},
    },
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> TokenResponse:
    """Exchange a username and password for a bearer token."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    refusal = throttle.check(form.username, address)
    if refusal is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{refusal.reason}; try again in {refusal.retry_after} s",
            headers={"Retry-After": str(refusal.retry_after)},
        )
    user = session.scalar(select(User).where(User.username == form.username))
    if user is None or not user.is_active:
        burn_password_check(form.password)  # same cost as a real check: no user probing
        throttle.failed(form.username, address)
        raise BAD_LOGIN
    if not verify_password(form.password, user.password_hash):
        throttle.failed(form.username, address)
        raise BAD_LOGIN
    throttle.succeeded(form.username)
    token, expires = auth.create_access_token(
        user.username,
        user.role,  # type: ignore[arg-type]
        key=request.app.state.signing_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        minutes=settings.access_token_minutes,
    )
    return TokenResponse(access_token=token, expires_at=expires, role=user.role)


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    return Me(username=principal.name, role=principal.role, kind=principal.kind)  # type: ignore[arg-type]
