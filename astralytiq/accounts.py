"""People who log in: roles, bcrypt password hashes, and creating users (CLI and `up`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Literal

import bcrypt
from sqlalchemy import select

from astralytiq.db import AuditEvent, User, session_scope

Role = Literal["admin", "engineer", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "engineer", "viewer")
ROLE_RANK = {"viewer": 0, "engineer": 1, "admin": 2}
BCRYPT_MAX_BYTES = 72


class PasswordPolicyError(ValueError):
    """The password cannot be accepted; the message says why."""


def check_password_policy(password: str) -> None:
    size = len(password.encode("utf-8"))
    if size > BCRYPT_MAX_BYTES:
        # bcrypt ignores everything past 72 bytes; refusing is honest, truncating is not.
        raise PasswordPolicyError(f"password is {size} bytes in UTF-8; the limit is {BCRYPT_MAX_BYTES} bytes")
    if len(password) < 8:
        raise PasswordPolicyError("password must be at least 8 characters")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=12)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    encoded = password.encode("utf-8")
    if len(encoded) > BCRYPT_MAX_BYTES:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except ValueError:
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return bcrypt.hashpw(b"astralytiq-timing-equaliser", bcrypt.gensalt(rounds=12)).decode()


def burn_password_check(password: str) -> None:
    """Check against a real hash when the user does not exist, so both paths cost the same."""
    verify_password(password, _dummy_hash())


class UserExists(ValueError):
    pass


def create_user(database_url: str, username: str, password: str, role: Role, actor: str = "cli") -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace("-", "").replace(".", "").isalnum()
    ):
        raise ValueError("username must be 1-64 letters, digits, '.', '_' or '-'")
    password_hash = hash_password(password)
    with session_scope(database_url) as session:
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise UserExists(f"user {username!r} already exists")
        session.add(User(username=username, password_hash=password_hash, role=role))
        session.add(AuditEvent(actor=actor, action="user.create", target=username, detail={"role": role}))


def list_users(database_url: str) -> list[tuple[str, str, bool]]:
    with session_scope(database_url) as session:
        return [
            (u.username, u.role, u.is_active) for u in session.scalars(select(User).order_by(User.username))
        ]


def ensure_admin(database_url: str, password: str = "") -> str | None:
    """Create ``admin`` if missing; returns the generated password (shown once) if one was made."""
    with session_scope(database_url) as session:
        if session.scalar(select(User).where(User.username == "admin")) is not None:
            return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    create_user(database_url, "admin", password, "admin", actor="up")
    return generated
