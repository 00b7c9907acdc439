"""Who is calling: API keys and token subjects checked against the app database, briefly cached.

Each request must not cost a database round trip (or a write), so an answer is reused for
``recheck_seconds``; a key revoked or a user disabled through this process is forgotten at
once, elsewhere within that window. A key's last-used time is written at most once a minute
(when it is rechecked), so it is exact to the minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from astralytiq import api_keys
from astralytiq.accounts import Role
from astralytiq.db import ApiKey, User

LAST_USED_RESOLUTION = timedelta(minutes=1)
log = logging.getLogger("astralytiq.serving")
MAX_ENTRIES = 10_000  # a flood of random keys cannot grow the cache without bound


class AccessUnavailable(RuntimeError):
    """No answer about a caller never seen before: the app database cannot be reached."""


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
        # One database check per key or user at a time: requests arriving meanwhile wait for
        # its answer instead of each starting their own (a burst would exhaust the pool).
        self._checking: dict[str, asyncio.Future[_Entry]] = {}

    def _fresh(self, entry: _Entry) -> bool:
        return time.monotonic() - entry.checked_at < self.recheck_seconds

    @staticmethod
    def _bounded(table: dict[str, _Entry]) -> None:
        if len(table) >= MAX_ENTRIES:
            table.clear()

    async def _check(self, table: dict[str, _Entry], name: str, load: Callable[[], _Entry]) -> _Entry:
        entry = table.get(name)
        if entry is not None and self._fresh(entry):
            return entry
        task = self._checking.get(name)
        if task is None:
            task = asyncio.ensure_future(self._reload(table, name, load))
            self._checking[name] = task
        # Shielded: a caller that goes away does not cancel the check the others wait for.
        return await asyncio.shield(task)

    async def _reload(self, table: dict[str, _Entry], name: str, load: Callable[[], _Entry]) -> _Entry:
        try:
            entry = await run_in_threadpool(load)
        except SQLAlchemyError as exc:
            stale = table.get(name)
            if stale is None:
                raise AccessUnavailable(
                    f"credentials cannot be checked now: the app database is unavailable ({exc.__class__.__name__})"
                ) from None
            # Keep serving callers already known while the database is away; retry next interval.
            log.warning(
                "app database unavailable (%s); trusting the last check of %s",
                exc.__class__.__name__,
                name[:12],
            )
            entry = _Entry(stale.principal, time.monotonic())
        finally:
            self._checking.pop(name, None)
        self._bounded(table)
        table[name] = entry
        return entry

    async def api_key(self, key: str) -> Principal | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return (await self._check(self._keys, f"key:{digest}", lambda: self._load_key(key))).principal

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
        return (
            await self._check(self._users, f"user:{username}", lambda: self._load_user(username))
        ).principal

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
        self._users.pop(f"user:{username}", None)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite returns naive datetimes; they were written in UTC
    return value
