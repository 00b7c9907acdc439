"""Which forecast snapshot the API should serve: the newest of the champion version, read from the
app database by the alias watcher; and an older one by id, to reproduce a past answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from astralytiq.snapshots import SnapshotRecord, newest_snapshot, snapshot_by_id

log = logging.getLogger("astralytiq.serving")


class SnapshotsUnavailable(RuntimeError):
    """The app database did not answer: keep serving what is served."""


class SnapshotFinder:
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def newest(self, name: str, version: str) -> SnapshotRecord | None:
        try:
            with self._sessions() as session:
                return newest_snapshot(session, name, version)
        except SQLAlchemyError as exc:
            raise SnapshotsUnavailable(f"forecast snapshots unreadable: {exc.__class__.__name__}") from None

    def by_id(self, name: str, snapshot_id: int) -> SnapshotRecord | None:
        try:
            with self._sessions() as session:
                return snapshot_by_id(session, name, snapshot_id)
        except SQLAlchemyError as exc:
            raise SnapshotsUnavailable(f"forecast snapshots unreadable: {exc.__class__.__name__}") from None
