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

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from astralytiq import api_keys
from astralytiq.accounts import Role, find_user, fold
from astralytiq.db import ApiKey

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
    token_version: int = 0  # a person's: tokens carrying another version are refused

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

    @staticmethod
    def _bounded(table: dict[str, _Entry]) -> None:
        if len(table) >= MAX_ENTRIES:
            table.clear()

    async def _check(self, table: dict[str, _Entry], name: str, load: Callable[[], _Entry]) -> _Entry:
        entry = table.get(name)
        if entry is not None:
            age = time.monotonic() - entry.checked_at
            if age < self.recheck_seconds:
                # Past half its life, the answer is rechecked in the background, so under steady
                # traffic no request waits for the database (or its once-a-minute write).
                if age >= self.recheck_seconds / 2 and name not in self._checking:
                    self._start(table, name, load)
                return entry
        task = self._checking.get(name) or self._start(table, name, load)
        # Shielded: a caller that goes away does not cancel the check the others wait for.
        return await asyncio.shield(task)

    def _start(
        self, table: dict[str, _Entry], name: str, load: Callable[[], _Entry]
    ) -> asyncio.Future[_Entry]:
        task = asyncio.ensure_future(self._reload(table, name, load))
        task.add_done_callback(_log_failure)
        self._checking[name] = task
        return task

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
            await self._check(self._users, f"user:{fold(username)}", lambda: self._load_user(username))
        ).principal

    def _load_user(self, username: str) -> _Entry:
        with self._sessions() as session:
            user = find_user(session, username)
            if user is None or not user.is_active:
                return _Entry(None, time.monotonic())
            principal = Principal(user.username, user.role, "user", token_version=user.token_version)  # type: ignore[arg-type]
            return _Entry(principal, time.monotonic())

    def forget_keys(self) -> None:
        """After a key changes here: every cached key answer is dropped (keys are few)."""
        self._keys.clear()

    def forget_user(self, username: str) -> None:
        self._users.pop(f"user:{fold(username)}", None)


def _log_failure(task: asyncio.Future[_Entry]) -> None:
    # A background recheck has no caller to raise to; its failure is logged (and retrieved).
    if not task.cancelled() and task.exception() is not None:
        log.warning("access check failed: %s", task.exception())


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite returns naive datetimes; they were written in UTC
    return value
