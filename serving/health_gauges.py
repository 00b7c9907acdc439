"""Keeps the model-health gauges current: reads the newest stored monitoring rows from the app
database and the newest registered version from the registry, every few seconds, in a thread.

Every API replica reads the same database, so each exports the same values, and a restarted
replica exports them again at once; a scrape only reads the last snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from monitoring.snapshot import read_snapshot
from registry.rest import RegistryError
from serving.metrics import HEALTH, ModelHealthCollector
from serving.model_store import ModelStore

log = logging.getLogger("astralytiq.serving")


class HealthGauges:
    def __init__(
        self, sessions: Callable[[], Session], store: ModelStore, collector: ModelHealthCollector = HEALTH
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.collector = collector
        self._trained_at: dict[str, float] = {}

    def refresh(self) -> None:
        with self.sessions() as session:
            snapshot = read_snapshot(session)
        served = {name: model.version for name, model in self.store.all().items()}
        for name in sorted(set(snapshot.models) | set(served)):
            try:
                versions = self.store.registry.versions(name)
            except RegistryError as exc:  # keep the last known time while MLflow is away
                log.warning("training time of %s not refreshed: %s", name, exc)
                continue
            if versions:
                self._trained_at[name] = max(v.created_ms for v in versions) / 1000.0
        self.collector.update(snapshot, self._trained_at, served)

    def watch(self, interval: float, stop: threading.Event) -> None:
        """Refresh now, then every ``interval`` seconds until ``stop`` is set (a daemon thread)."""
        while True:
            try:
                self.refresh()
            except Exception:  # a dead refresher would freeze the gauges at stale values silently
                log.exception("model-health gauges not refreshed; retrying in %.0fs", interval)
            if stop.wait(interval):
                return
