"""Everything a route needs, assembled once: settings, DB session, caller, served models, the
registry's contract reports."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from astralytiq import audit
from astralytiq.accounts import ROLE_RANK, Role
from astralytiq.settings import Settings
from registry.contract_reports import ContractReports
from serving import auth
from serving.access import AccessCache, AccessUnavailable, Principal
from serving.model_store import ModelStore

__all__ = ["Principal"]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


# Trivial dependencies are async: FastAPI runs a sync one in a worker thread, costing a hop.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


async def get_store(request: Request) -> ModelStore:
    return request.app.state.store  # type: ignore[no-any-return]


async def get_access(request: Request) -> AccessCache:
    return request.app.state.access  # type: ignore[no-any-return]


def get_contract_reports(
    settings: Annotated[Settings, Depends(get_settings_dep)],
) -> Iterator[ContractReports]:
    client = ContractReports(settings.mlflow_tracking_uri)
    try:
        yield client
    finally:
        client.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
ModelStoreDep = Annotated[ModelStore, Depends(get_store)]
AccessDep = Annotated[AccessCache, Depends(get_access)]
ContractReportsDep = Annotated[ContractReports, Depends(get_contract_reports)]

UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="not authenticated: send 'Authorization: Bearer <token>' (POST /v1/auth/token) or 'X-API-Key'",
    headers={"WWW-Authenticate": "Bearer"},
)


async def _ask(check: Coroutine[Any, Any, Principal | None]) -> Principal | None:
    try:
        return await check
    except AccessUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc), headers={"Retry-After": "5"}
        ) from None


async def current_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    # async all the way, and few dependencies: the forecast path is mostly this function, and it
    # never waits for a thread unless the access cache is stale.
    settings: Settings = request.app.state.settings
    access: AccessCache = request.app.state.access
    if token:
        return await _person(request, settings, access, token)
    if api_key:
        principal = await _ask(access.api_key(api_key))
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="API key invalid, expired or revoked")
        return principal
    raise UNAUTHORIZED


INVALID_TOKEN = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="token invalid or expired; log in again",
    headers={"WWW-Authenticate": "Bearer"},
)


async def _person(request: Request, settings: Settings, access: AccessCache, token: str) -> Principal:
    tokens: auth.VerifiedTokens = request.app.state.tokens
    try:
        claims = tokens.claims(token)  # the signature is checked once per token, not per request
    except auth.InvalidToken:
        raise INVALID_TOKEN from None
    principal = await _ask(access.user(claims.subject))
    # A disable, a role or a password change since the token was issued ends it.
    if principal is None or principal.token_version != claims.version:
        raise INVALID_TOKEN
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def operator(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> str | None:
    """Who may read the process's own state (/metrics, /readyz's details): the metrics token
    (Prometheus) or a person logged in. None when no credentials came; an API key is refused:
    the metrics name every model, so they would pass a key's model scope by."""
    if api_key and not token:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="API keys cannot read the API's metrics; use the metrics token or a person's token",
        )
    if not token:
        return None
    expected: str = request.app.state.metrics_bearer
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return "metrics"
    settings: Settings = request.app.state.settings
    return (await _person(request, settings, request.app.state.access, token)).name


Operator = Annotated[str | None, Depends(operator)]


# The credentials a role check reads. The check calls the two schemes itself rather than taking
# them as sub-dependencies: FastAPI solves every dependency of every request (~20 µs each on the
# forecast path), so a role check is one dependency, not four. serving.openapi documents the
# schemes on every route whose dependencies carry ``credential_schemes``, as FastAPI would.
CREDENTIAL_SCHEMES = (oauth2_scheme, api_key_header)


def require_role(minimum: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    rank = ROLE_RANK[minimum]

    async def check(request: Request) -> Principal:
        token = await oauth2_scheme(request)
        api_key = await api_key_header(request)
        principal = await current_principal(request, token, api_key)
        if ROLE_RANK[principal.role] < rank:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this needs the {minimum} role")
        return principal

    check.credential_schemes = CREDENTIAL_SCHEMES  # type: ignore[attr-defined]
    return check


Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Engineer = Annotated[Principal, Depends(require_role("engineer"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


def check_model_scope(principal: Principal, model: str) -> None:
    if not principal.can_use(model):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"this API key is not allowed to use model {model!r}; its models: {', '.join(principal.models)}",
        )


def actor_of(principal: Principal, request: Request) -> audit.Actor:
    """The audit log's view of the caller: a person or a service key, and its address."""
    return audit.Actor(principal.name, principal.kind, request.client.host if request.client else None)
