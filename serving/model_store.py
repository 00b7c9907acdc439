"""The champions being served, swapped atomically when an alias moves.

A new version is downloaded, parsed and smoke-tested completely before it replaces the one in
service, so a request always sees one whole model; a version that fails keeps the old one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from models.bundle import ForecastBundle
from registry.names import CHAMPION
from registry.rest import NotFound, RegistryClient, RegistryError
from serving import bundle_loader, metrics
from serving.render_cache import RenderCache

log = logging.getLogger("astralytiq.serving")


class LoadError(RuntimeError):
    """A version cannot be served: ``missing`` from the registry or ``invalid`` (its bundle fails
    to parse or its smoke test): never retried; the registry ``unreachable`` or the loader
    ``crashed`` (killed, out of memory): retried at the next poll."""

    def __init__(self, message: str, kind: Literal["missing", "invalid", "unreachable", "crashed"]) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def permanent(self) -> bool:
        return self.kind in ("missing", "invalid")


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    run_id: str
    bundle: ForecastBundle
    loaded_at: float
    load_seconds: float
    cache: RenderCache = field(default_factory=lambda: RenderCache(0), compare=False, repr=False)


@dataclass
class StoreStatus:
    registry_ok: bool = False
    registry_error: str = "not read yet"
    failed: dict[str, str] = field(default_factory=dict)  # "name/version" -> why it is not served


class ModelStore:
    def __init__(self, registry: RegistryClient, cache_bytes: int = 0) -> None:
        self.registry = registry
        self.cache_bytes = cache_bytes
        self._models: dict[str, ServedModel] = {}
        self._load_lock = threading.Lock()  # one load or swap at a time; readers never wait
        self.status = StoreStatus()

    def get(self, name: str) -> ServedModel | None:
        return self._models.get(name)

    def all(self) -> dict[str, ServedModel]:
        return dict(self._models)

    def prepare(self, name: str, version: str) -> ServedModel:
        """Download, parse and smoke-test one version, without serving it."""
        started = time.perf_counter()
        try:
            info = self.registry.version(name, version)
            payload = self.registry.download_bundle(name, version)
        except NotFound as exc:
            raise LoadError(f"{name} v{version} not found in the registry: {exc}", "missing") from None
        except RegistryError as exc:
            raise LoadError(f"{name} v{version} could not be fetched: {exc}", "unreachable") from None
        try:
            bundle = bundle_loader.load(payload, name, version)
            del payload
            # What came back is checked here too, on its first and last series.
            ids = list(bundle.series)
            bundle_loader.smoke_test(bundle, name, version, [ids[0], ids[-1]])
        except bundle_loader.InvalidBundle as exc:
            raise LoadError(str(exc), "invalid") from None
        except bundle_loader.LoaderFailed as exc:
            raise LoadError(f"{name} v{version} could not be loaded: {exc}", "crashed") from None
        seconds = time.perf_counter() - started
        return ServedModel(
            name, version, info.run_id, bundle, time.time(), seconds, RenderCache(self.cache_bytes)
        )

    def _install(self, loaded: ServedModel) -> None:
        """Serve ``loaded`` from now on (the caller holds the load lock)."""
        # Replace the whole mapping: a reader holds either the old or the new one.
        self._models = {**self._models, loaded.name: loaded}
        prefix = f"{loaded.name}/"
        self.status.failed = {k: v for k, v in self.status.failed.items() if not k.startswith(prefix)}
        metrics.record_model_loaded(loaded.name, loaded.version, loaded.run_id, loaded.load_seconds)
        log.info("serving %s v%s (loaded in %.2fs)", loaded.name, loaded.version, loaded.load_seconds)

    def _record_failure(self, name: str, version: str, error: LoadError) -> None:
        served = self._models.get(name)
        metrics.MODEL_LOAD_FAILURES.labels(model=name, reason=error.kind).inc()
        if error.permanent:
            self.status.failed[f"{name}/{version}"] = str(error)
        log.error(
            "could not load %s v%s, keeping %s: %s",
            name,
            version,
            f"v{served.version}" if served else "nothing",
            error,
        )

    def switch(self, name: str, version: str, point_alias: Callable[[], None]) -> ServedModel:
        """Promotion and rollback: load ``version`` fully, then move the alias, then serve it.

        A version that fails to load leaves both the alias and the served model untouched; the
        watcher cannot interleave (it takes the same lock), so it never undoes the switch.
        """
        with self._load_lock:
            try:
                loaded = self.prepare(name, version)
            except LoadError as exc:
                self._record_failure(name, version, exc)
                raise
            point_alias()  # a RegistryError here leaves the old champion in place and served
            self._install(loaded)
            return loaded

    def prepare_champions(self) -> dict[str, ServedModel]:
        """Every champion prepared but not served (the warm start); failures are left for the
        next ``refresh`` to meet and record."""
        prepared: dict[str, ServedModel] = {}
        for model in self.registry.list_models():
            version = model.aliases.get(CHAMPION)
            if version is not None:
                try:
                    prepared[model.name] = self.prepare(model.name, version)
                except LoadError:
                    continue
        return prepared

    def refresh(self, prepared: dict[str, ServedModel] | None = None) -> list[str]:
        """Load every champion that is not served yet; returns 'name vX' for each swap.

        ``prepared`` versions (from a warm start) are used when they are still the champion."""
        with self._load_lock:
            return self._refresh(prepared or {})

    def _refresh(self, prepared: dict[str, ServedModel]) -> list[str]:
        changes: list[str] = []
        try:
            registered = self.registry.list_models()
        except RegistryError as exc:
            self.status.registry_ok, self.status.registry_error = False, str(exc)
            return changes
        for model in registered:
            version = model.aliases.get(CHAMPION)
            served = self._models.get(model.name)
            if version is None or (served and served.version == version):
                continue
            if f"{model.name}/{version}" in self.status.failed:
                continue  # known broken: wait for the alias to move on
            early = prepared.get(model.name)
            try:
                loaded = early if early and early.version == version else self.prepare(model.name, version)
            except LoadError as exc:
                self._record_failure(model.name, version, exc)
                continue
            self._install(loaded)
            changes.append(f"{model.name} v{loaded.version}")
        self.status.registry_ok, self.status.registry_error = True, ""
        return changes

    def watch(self, interval: float, stop: threading.Event) -> None:
        """Poll the registry until ``stop`` is set (run in a daemon thread)."""
        while not stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a watcher that dies silently would freeze the champion forever
                log.exception("alias watch failed; retrying in %.0fs", interval)
