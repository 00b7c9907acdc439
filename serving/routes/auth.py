"""Log in (OAuth2 password flow), ask who you are, and change your own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from astralytiq import accounts
from astralytiq.accounts import burn_password_check, find_user, verify_password
from astralytiq.db import User
from serving import auth
from serving.deps import AccessDep, CurrentPrincipal, SessionDep, SettingsDep, actor_of
from serving.errors import ErrorDetail
from serving.login_throttle import LoginThrottle
from serving.schemas import Me, PasswordChange, TokenResponse
from serving.security_headers import NO_STORE, NO_STORE_DOC

router = APIRouter(prefix="/v1/auth", tags=["auth"])

BAD_LOGIN = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="incorrect username or password",
    headers={"WWW-Authenticate": "Bearer"},
)
THROTTLED = {
    "model": ErrorDetail,
    "description": "Too many failed attempts for this account or client; see Retry-After",
}


def _throttle(request: Request, username: str) -> tuple[LoginThrottle, str]:
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    refusal = throttle.check(accounts.fold(username), address)
    if refusal is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{refusal.reason}; try again in {refusal.retry_after} s",
            headers={"Retry-After": str(refusal.retry_after)},
        )
    return throttle, address


def _token(user: User, settings: SettingsDep, request: Request, response: Response) -> TokenResponse:
    token, expires = auth.create_access_token(
        user.username,
        user.role,  # type: ignore[arg-type]
        key=request.app.state.signing_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        minutes=settings.access_token_minutes,
        version=user.token_version,
    )
    response.headers.update(NO_STORE)  # a bearer token: never kept by a browser or proxy cache
    return TokenResponse(access_token=token, expires_at=expires, role=user.role, username=user.username)


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        200: {"headers": NO_STORE_DOC},
        401: {"model": ErrorDetail, "description": "Bad credentials"},
        429: THROTTLED,
    },
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> TokenResponse:
    """Exchange a username (any case: "Ana" and "ana" are one account) and password for a bearer token."""
    throttle, address = _throttle(request, form.username)
    login_name = accounts.fold(form.username)
    user = find_user(session, form.username)
    if user is None or not user.is_active:
        burn_password_check(form.password)  # same cost as a real check: no user probing
        throttle.failed(login_name, address)
        raise BAD_LOGIN
    if not verify_password(form.password, user.password_hash):
        throttle.failed(login_name, address)
        raise BAD_LOGIN
    throttle.succeeded(login_name)
    return _token(user, settings, request, response)


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    return Me(username=principal.name, role=principal.role, kind=principal.kind)  # type: ignore[arg-type]


@router.post(
    "/password",
    response_model=TokenResponse,
    responses={
        200: {"headers": NO_STORE_DOC},
        401: {"model": ErrorDetail, "description": "Not logged in, or the token is no longer valid"},
        403: {
            "model": ErrorDetail,
            "description": "The current password is wrong, or an API key has no password",
        },
        422: {
            "model": ErrorDetail,
            "description": "The new password breaks the policy, or is the current one",
        },
        429: THROTTLED,
    },
)
def change_password(
    body: PasswordChange,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    access: AccessDep,
    request: Request,
    response: Response,
) -> TokenResponse:
    """Change your own password. Every token issued to you before stops working (log out
    everywhere); the answer is a fresh token for this session."""
    if principal.kind != "user":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="an API key has no password to change")
    throttle, address = _throttle(request, principal.name)
    try:
        user = accounts.change_password(
            session, actor_of(principal, request), principal.name, body.current_password, body.new_password
        )
    except accounts.WrongPassword as exc:
        throttle.failed(accounts.fold(principal.name), address)
        # 403, not 401: the session is fine (a client would take 401 as "log in again").
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from None
    except accounts.PasswordPolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    except accounts.UserNotFound:
        raise BAD_LOGIN from None
    session.commit()
    access.forget_user(principal.name)
    return _token(user, settings, request, response)
