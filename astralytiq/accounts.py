"""People who log in: roles, bcrypt password hashes, and creating users (CLI and `up`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Literal

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from astralytiq import audit
from astralytiq.db import User, session_scope

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


class UserNotFound(LookupError):
    pass


def check_username(username: str) -> None:
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace("-", "").replace(".", "").isalnum()
        or not username.isascii()
    ):
        raise ValueError(
            f"username {username[:80]!r} is not valid: use 1-64 letters, digits, '.', '_' or '-'"
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")


def add_user(session: Session, actor: audit.Actor, username: str, password: str, role: Role) -> User:
    """Create a user in ``session`` (the caller commits), with its audit event."""
    check_role(role)
    check_username(username)
    password_hash = hash_password(password)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserExists(f"user {username!r} already exists")
    user = User(username=username, password_hash=password_hash, role=role, is_active=True)
    session.add(user)
    audit.record(session, actor, "user.create", username, role=role)
    return user


def update_user(
    session: Session,
    actor: audit.Actor,
    username: str,
    *,
    role: Role | None = None,
    active: bool | None = None,
) -> User:
    """Change a user's role or disable/enable them; each change is audited."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserNotFound(f"no user named {username!r}")
    if role is not None and role != user.role:
        check_role(role)
        audit.record(session, actor, "user.role", username, before=user.role, after=role)
        user.role = role
    if active is not None and active != user.is_active:
        audit.record(session, actor, "user.enable" if active else "user.disable", username)
        user.is_active = active
    return user


def create_user(
    database_url: str, username: str, password: str, role: Role, actor: audit.Actor | None = None
) -> None:
    with session_scope(database_url) as session:
        add_user(session, actor or audit.Actor("cli", "cli"), username, password, role)


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
    create_user(database_url, "admin", password, "admin", actor=audit.Actor("up", "system"))
    return generated
