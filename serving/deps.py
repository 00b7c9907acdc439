"""Everything a route needs, assembled once: settings, DB session, caller, served models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from astralytiq.accounts import ROLE_RANK, Role
from astralytiq.db import ApiKey, User
from astralytiq.settings import Settings
from serving import auth
from serving.model_store import ModelStore

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_store(request: Request) -> ModelStore:
    return request.app.state.store  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
ModelStoreDep = Annotated[ModelStore, Depends(get_store)]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    kind: str  # "user" | "api_key"
    models: tuple[str, ...] = ()  # API keys may be limited to some models; empty: all

    def can_use(self, model: str) -> bool:
        return not self.models or model in self.models


UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="not authenticated: send 'Authorization: Bearer <token>' (POST /v1/auth/token) or 'X-API-Key'",
    headers={"WWW-Authenticate": "Bearer"},
)


def current_principal(
    settings: SettingsDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    if token:
        try:
            claims = auth.decode_access_token(
                token, key=settings.signing_key(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
            )
        except auth.InvalidToken:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="token invalid or expired; log in again",
                headers={"WWW-Authenticate": "Bearer"},
            ) from None
        user = session.scalar(select(User).where(User.username == claims.subject))
        if user is None or not user.is_active:
            raise UNAUTHORIZED
        return Principal(user.username, user.role, "user")  # type: ignore[arg-type]
    if api_key:
        prefix = auth.api_key_prefix(api_key)
        record = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
        if (
            record is None
            or record.revoked_at is not None
            or not auth.api_key_matches(api_key, record.key_hash)
        ):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="API key invalid or revoked")
        record.last_used_at = datetime.now(UTC)
        session.commit()
        return Principal(f"key:{record.name}", record.role, "api_key", tuple(record.models or ()))  # type: ignore[arg-type]
    raise UNAUTHORIZED


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(minimum: Role) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if ROLE_RANK[principal.role] < ROLE_RANK[minimum]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this needs the {minimum} role")
        return principal

    return check


Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Engineer = Annotated[Principal, Depends(require_role("engineer"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
