"""Who is calling: API keys and token subjects checked against the app database, briefly cached.

Each request must not cost a database round trip (or a write), so an answer is reused for
``recheck_seconds``; a key revoked or a user disabled through this process is forgotten at
once, elsewhere within that window. A key's last-used time is written at most once a minute
(when it is rechecked), so it is exact to the minute.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from astralytiq import api_keys
from astralytiq.accounts import Role
from astralytiq.db import ApiKey, User

LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ENTRIES = 10_000  # a flood of random keys cannot grow the cache without bound


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    kind: Literal["user", "api_key"]
    models: tuple[str, ...] = ()  # API keys may be limited to some models; empty: all
    key_id: int | None = None

    def can_use(self, model: str) -> bool:
        return not self.models or model in self.models


@dataclass(frozen=True)
class _Entry:
    principal: Principal | None  # None: refused (unknown, revoked, expired, disabled)
    checked_at: float


class AccessCache:
    def __init__(self, sessions: Callable[[], Session], recheck_seconds: float) -> None:
        self._sessions = sessions
        self.recheck_seconds = recheck_seconds
        self._keys: dict[str, _Entry] = {}  # sha256 of the key -> entry
        self._users: dict[str, _Entry] = {}

    def _fresh(self, entry: _Entry) -> bool:
        return time.monotonic() - entry.checked_at < self.recheck_seconds

    @staticmethod
    def _bounded(table: dict[str, _Entry]) -> None:
        if len(table) >= MAX_ENTRIES:
            table.clear()

    async def api_key(self, key: str) -> Principal | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        entry = self._keys.get(digest)
        if entry is None or not self._fresh(entry):
            entry = await run_in_threadpool(self._load_key, key)
            self._bounded(self._keys)
            self._keys[digest] = entry
        return entry.principal

    def _load_key(self, key: str) -> _Entry:
        with self._sessions() as session:
            row = api_keys.authenticate(session, key)
            if row is None:
                return _Entry(None, time.monotonic())
            now = datetime.now(UTC)
            stored = _aware(row.last_used_at)
            if stored is None or now - stored >= LAST_USED_RESOLUTION:
                session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
                session.commit()
            principal = Principal(
                f"key:{row.name}",
                row.role,  # type: ignore[arg-type]
                "api_key",
                tuple(row.models or ()),
                row.id,
            )
            return _Entry(principal, time.monotonic())

    async def user(self, username: str) -> Principal | None:
        entry = self._users.get(username)
        if entry is None or not self._fresh(entry):
            entry = await run_in_threadpool(self._load_user, username)
            self._bounded(self._users)
            self._users[username] = entry
        assert entry is not None
        return entry.principal

    def _load_user(self, username: str) -> _Entry:
        with self._sessions() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None or not user.is_active:
                return _Entry(None, time.monotonic())
            return _Entry(Principal(user.username, user.role, "user"), time.monotonic())  # type: ignore[arg-type]

    def forget_keys(self) -> None:
        """After a key changes here: every cached key answer is dropped (keys are few)."""
        self._keys.clear()

    def forget_user(self, username: str) -> None:
        self._users.pop(username, None)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite returns naive datetimes; they were written in UTC
    return value
