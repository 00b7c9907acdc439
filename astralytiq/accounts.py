"""People who log in: roles, bcrypt password hashes, and creating users (CLI and `up`)."""

from __future__ import annotations

import secrets
import unicodedata
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


def _unusable_character(password: str) -> str | None:
    """A character no password may hold: a control character (bcrypt stops at NUL, so
    "abc\\0anything" would be "abc") or a lone surrogate (not text: it has no UTF-8)."""
    for char in password:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def check_password_policy(password: str) -> None:
    bad = _unusable_character(password)
    if bad is not None:
        raise PasswordPolicyError(
            f"password holds U+{ord(bad):04X}, a control (or invalid) character; use printable characters only"
        )
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
    encoded = password.encode("utf-8", "surrogatepass")
    if _unusable_character(password) is not None or len(encoded) > BCRYPT_MAX_BYTES:
        # Never a password (and bcrypt would read "abc\0x" as "abc"); refused at the cost of a
        # real check, so the answer's timing says nothing about the account.
        burn_password_check(password)
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
    bcrypt.checkpw(b"not-the-password", _dummy_hash().encode("ascii"))


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


def fold(username: str) -> str:
    """The login key of a username: "Ana" and "ana" are one account (usernames are ASCII)."""
    return username.lower()


def find_user(session: Session, username: str) -> User | None:
    """The account a login name means, whatever its case."""
    return session.scalar(select(User).where(User.username_folded == fold(username)))


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")


def add_user(session: Session, actor: audit.Actor, username: str, password: str, role: Role) -> User:
    """Create a user in ``session`` (the caller commits), with its audit event."""
    check_role(role)
    check_username(username)
    password_hash = hash_password(password)
    existing = find_user(session, username)
    if existing is not None:
        same = "" if existing.username == username else f" (as {existing.username!r}; usernames ignore case)"
        raise UserExists(f"user {username!r} already exists{same}")
    user = User(
        username=username,
        username_folded=fold(username),
        password_hash=password_hash,
        role=role,
        is_active=True,
        token_version=0,
    )
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
    """Change a user's role or disable/enable them; each change is audited. A role change or a
    disable ends every session the user has (their tokens' version is passed)."""
    user = _existing(session, username)
    if role is not None and role != user.role:
        check_role(role)
        audit.record(session, actor, "user.role", user.username, before=user.role, after=role)
        user.role = role
        user.token_version += 1
    if active is not None and active != user.is_active:
        audit.record(session, actor, "user.enable" if active else "user.disable", user.username)
        user.is_active = active
        if not active:
            user.token_version += 1
    return user


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise UserNotFound(f"no user named {username!r}")
    return user


class WrongPassword(ValueError):
    """The current password given to change it is not the user's."""


def change_password(session: Session, actor: audit.Actor, username: str, current: str, new: str) -> User:
    """The user changes their own password (they must know the current one); every token issued
    before stops working. The caller commits."""
    user = _existing(session, username)
    if not verify_password(current, user.password_hash):
        raise WrongPassword("the current password is not correct")
    if current == new:
        raise PasswordPolicyError("the new password is the current one; choose another")
    user.password_hash = hash_password(new)
    user.token_version += 1
    audit.record(session, actor, "user.password_change", user.username)
    return user


def reset_password(session: Session, actor: audit.Actor, username: str, new: str) -> User:
    """An admin (or the CLI) sets a user's password; every token issued before stops working."""
    user = _existing(session, username)
    user.password_hash = hash_password(new)
    user.token_version += 1
    audit.record(session, actor, "user.password_reset", user.username)
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
        if find_user(session, "admin") is not None:
            return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    create_user(database_url, "admin", password, "admin", actor=audit.Actor("up", "system"))
    return generated
