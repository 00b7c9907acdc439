"""Access tokens (JWT, HS256 only) and API keys (hashed at rest)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from astralytiq.accounts import ROLES, Role

API_KEY_PREFIX = "aq_"
ALGORITHM = "HS256"  # fixed: a token naming any other algorithm is refused


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    role: Role
    expires_at: datetime


def create_access_token(
    subject: str, role: Role, *, key: str, issuer: str, audience: str, minutes: int
) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=minutes)
    payload = {
        "sub": subject,
        "role": role,
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
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    role = claims.get("role")
    if role not in ROLES:
        raise InvalidToken("token carries no valid role")
    return TokenClaims(str(claims["sub"]), role, datetime.fromtimestamp(claims["exp"], UTC))


def new_api_key() -> tuple[str, str, str]:
    """(full key shown once, lookup prefix, hash stored)."""
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    # API keys are long random strings, so a fast hash is safe (no dictionary to attack) and
    # keeps every service request cheap; bcrypt is for low-entropy human passwords.
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    parts = key[len(API_KEY_PREFIX) :].split("_", 1)
    return parts[0] if len(parts) == 2 and parts[0] else None


def api_key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)
