"""API keys for services: issued once, stored as a hash, scoped to models, revocable, expiring.

A key reads ``aq_<prefix>_<secret>``; the prefix finds the row, a SHA-256 of the whole key is
what is stored. Shared by the admin API and the `astralytiq keys` command.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from astralytiq import audit
from astralytiq.db import ApiKey

KEY_PREFIX = "aq_"
KeyRole = Literal["viewer", "engineer"]
# Services forecast (viewer) or promote from a pipeline (engineer); managing users and keys
# stays with people, so no key is ever an admin.
KEY_ROLES: tuple[KeyRole, ...] = ("viewer", "engineer")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MODEL_NAME_PATTERN = re.compile(r"^[^\x00-\x1f/]{1,128}$")


class InvalidKeyRequest(ValueError):
    """A key request that cannot be honoured; the message says why."""


class KeyNotFound(LookupError):
    pass


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    role: str
    models: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not expired(self.expires_at)


@dataclass(frozen=True)
class IssuedKey:
    key: str  # the full key: shown once, never stored
    info: KeyInfo


def hash_key(key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is safe (no dictionary to attack) and
    # keeps every service request cheap; bcrypt is for low-entropy human passwords.
    return hashlib.sha256(key.encode()).hexdigest()


def generate() -> tuple[str, str, str]:
    """(full key, lookup prefix, stored hash)."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def prefix_of(key: str) -> str | None:
    if not key.startswith(KEY_PREFIX):
        return None
    parts = key[len(KEY_PREFIX) :].split("_", 1)
    return parts[0] if len(parts) == 2 and parts[0] else None


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)


def expired(expires_at: datetime | None, now: datetime | None = None) -> bool:
    if expires_at is None:
        return False
    if expires_at.tzinfo is None:  # SQLite hands back naive datetimes; they were written in UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at <= (now or datetime.now(UTC))


def info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=row.role,
        models=tuple(row.models or ()),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def check_request(name: str, role: str, models: list[str], expires_at: datetime | None) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidKeyRequest(
            f"key name {name!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'billing-service')"
        )
    if role not in KEY_ROLES:
        raise InvalidKeyRequest(f"a key's role is one of {', '.join(KEY_ROLES)}, got {role!r}")
    for model in models:
        if not MODEL_NAME_PATTERN.match(model):
            raise InvalidKeyRequest(
                f"model name {model!r} is not valid: 1-128 characters, no '/' or control characters"
            )
    if expires_at is not None and expired(expires_at):
        raise InvalidKeyRequest(f"expiry {expires_at.isoformat()} is in the past; give a future time")


def issue(
    session: Session,
    actor: audit.Actor,
    *,
    name: str,
    role: str = "viewer",
    models: list[str] | None = None,
    expires_at: datetime | None = None,
    created_by: int | None = None,
) -> IssuedKey:
    """Create a key; the caller commits. The full key is in the result and nowhere else."""
    scoped = sorted(set(models or []))
    check_request(name, role, scoped, expires_at)
    key, prefix, key_hash = generate()
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        role=role,
        models=scoped,
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()  # assigns the id the audit event names
    audit.record(
        session,
        actor,
        "api_key.create",
        f"api_key:{row.id}",
        name=name,
        prefix=prefix,
        role=role,
        models=scoped,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return IssuedKey(key, info(row))


def all_keys(session: Session, include_revoked: bool = True) -> list[KeyInfo]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [info(row) for row in session.scalars(query)]


def find(session: Session, ref: str) -> ApiKey:
    """A key by id or by prefix (as `keys list` prints them).

    The prefix is tried first: it is 12 hex digits, so about one key in 280 has a prefix made only
    of decimal digits, which must not be read as an id. An id is a positive 64-bit integer.
    """
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == ref))
    if row is None and ref.isdigit() and len(ref) <= 18:
        row = session.get(ApiKey, int(ref))
    if row is None:
        raise KeyNotFound(f"no API key with id or prefix {ref!r}; `astralytiq keys list` shows them")
    return row


def revoke(session: Session, actor: audit.Actor, ref: str) -> KeyInfo:
    """Revoke a key now (idempotent: revoking twice records one event); the caller commits."""
    row = find(session, ref)
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        audit.record(session, actor, "api_key.revoke", f"api_key:{row.id}", name=row.name, prefix=row.prefix)
    return info(row)


def authenticate(session: Session, key: str) -> ApiKey | None:
    """The active key row this key belongs to, or None (unknown, wrong secret, revoked, expired)."""
    prefix = prefix_of(key)
    if prefix is None:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or not matches(key, row.key_hash) or row.revoked_at is not None or expired(row.expires_at):
        return None
    return row
