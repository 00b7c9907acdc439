"""Access tokens for people: JWT signed with HS256 only, with exact issuer and audience."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from astralytiq.accounts import ROLES, Role
from serving.lean_imports import import_without

if TYPE_CHECKING:
    import jwt
else:  # only HS256 is ever accepted, so PyJWT's RSA/EC support (and cryptography) is not loaded
    jwt = import_without("jwt", "cryptography")

ALGORITHM = "HS256"  # fixed: a token naming any other algorithm is refused


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    role: Role
    expires_at: datetime
    version: int  # the user's token version when it was issued (accounts.User.token_version)


def create_access_token(
    subject: str, role: Role, *, key: str, issuer: str, audience: str, minutes: int, version: int = 0
) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=minutes)
    payload = {
        "sub": subject,
        "role": role,
        "ver": version,
        "iat": now,
        "nbf": now,
        "exp": expires,
        "iss": issuer,
        "aud": audience,
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM), expires


def decode_access_token(token: str, *, key: str, issuer: str, audience: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            # strict_aud: the audience must be exactly our string, not a list that contains it.
            options={"require": ["exp", "iat", "sub", "iss", "aud"], "strict_aud": True},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    role = claims.get("role")
    if role not in ROLES:
        raise InvalidToken("token carries no valid role")
    version = claims.get("ver", 0)  # tokens issued before versions existed are version 0
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidToken("token carries no valid version")
    return TokenClaims(str(claims["sub"]), role, datetime.fromtimestamp(claims["exp"], UTC), version)


class VerifiedTokens:
    """Tokens whose signature and claims this process has checked, kept until they expire.

    A person's token comes back with every request, and checking its HMAC and claims is most of
    what a request costs once the rest is cached. A token's claims cannot change (any change
    breaks the signature), so a token checked once is good until its ``exp``. What can change,
    the person (disabled, new role, new password), is asked of ``serving.access`` on every
    request, which rechecks the database within ASTRALYTIQ_AUTH_RECHECK_SECONDS. Only valid
    tokens are kept; a flood of distinct tokens empties the table rather than growing it.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, *, key: str, issuer: str, audience: str) -> None:
        self._key, self._issuer, self._audience = key, issuer, audience
        self._checked: dict[str, tuple[TokenClaims, float]] = {}  # token -> claims, exp (epoch s)

    def claims(self, token: str) -> TokenClaims:
        """The token's claims; InvalidToken when it is forged, malformed or expired."""
        found = self._checked.get(token)
        if found is not None:
            if time.time() < found[1]:  # PyJWT refuses at exp itself, without leeway: so do we
                return found[0]
            del self._checked[token]
            raise InvalidToken("Signature has expired")
        claims = decode_access_token(token, key=self._key, issuer=self._issuer, audience=self._audience)
        if len(self._checked) >= self.MAX_ENTRIES:
            self._checked.clear()
        self._checked[token] = (claims, claims.expires_at.timestamp())
        return claims

    def __len__(self) -> int:
        return len(self._checked)

    def __contains__(self, token: object) -> bool:
        return token in self._checked
