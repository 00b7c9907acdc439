"""The champions being served, swapped atomically when an alias moves.

A new version is downloaded, parsed and smoke-tested completely before it replaces the one in
service, so a request always sees one whole model; a version that fails keeps the old one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from astralytiq.snapshots import SnapshotRecord
from models.bundle import ForecastBundle
from registry.names import CHAMPION
from registry.rest import NotFound, RegistryClient, RegistryError
from serving import bundle_loader, metrics
from serving.render_cache import RenderCache
from serving.snapshots import SnapshotFinder, SnapshotsUnavailable

OLD_SNAPSHOTS_KEPT = 2  # past snapshots asked for by id, kept loaded (each is a whole bundle)

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
    origin: str = ""  # the bundle's origin, read once at load (every answer carries it)
    snapshot_id: int | None = None  # the forecast snapshot served; None: the version's own bundle

    def __post_init__(self) -> None:
        if not self.origin:
            object.__setattr__(self, "origin", self.bundle.origin)


@dataclass
class StoreStatus:
    registry_ok: bool = False
    registry_error: str = "not read yet"
    failed: dict[str, str] = field(default_factory=dict)  # "name/version" -> why it is not served


class ModelStore:
    def __init__(
        self, registry: RegistryClient, cache_bytes: int = 0, snapshots: SnapshotFinder | None = None
    ) -> None:
        self.registry = registry
        self.cache_bytes = cache_bytes
        self.snapshots = snapshots
        self._models: dict[str, ServedModel] = {}
        self._load_lock = threading.Lock()  # one load or swap at a time; readers never wait
        self._old: OrderedDict[tuple[str, int], ServedModel] = OrderedDict()
        self._trained: OrderedDict[tuple[str, str], ServedModel] = OrderedDict()
        self._old_lock = threading.Lock()
        self.status = StoreStatus()

    def get(self, name: str) -> ServedModel | None:
        return self._models.get(name)

    def all(self) -> dict[str, ServedModel]:
        return dict(self._models)

    def prepare(self, name: str, version: str, snapshot: SnapshotRecord | None = None) -> ServedModel:
        """Download, parse and smoke-test one version (or one forecast snapshot of it), without
        serving it."""
        started = time.perf_counter()
        what = f"{name} v{version}" + (f" snapshot {snapshot.id}" if snapshot else "")
        try:
            info = self.registry.version(name, version)
            if snapshot is None:
                payload = self.registry.download_bundle(name, version)
            else:
                payload = self.registry.download_artifact(snapshot.artifact_uri, snapshot.artifact_path)
        except NotFound as exc:
            raise LoadError(f"{what} not found in the registry: {exc}", "missing") from None
        except RegistryError as exc:
            raise LoadError(f"{what} could not be fetched: {exc}", "unreachable") from None
        if snapshot is not None and hashlib.sha256(payload).hexdigest() != snapshot.sha256:
            raise LoadError(f"{what} changed since it was published (checksum differs)", "invalid")
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
            name,
            version,
            info.run_id,
            bundle,
            time.time(),
            seconds,
            RenderCache(self.cache_bytes),
            snapshot_id=snapshot.id if snapshot else None,
        )

    def _newest_snapshot(self, name: str, version: str) -> SnapshotRecord | None:
        """The snapshot to serve for this version (None: its own bundle); a snapshot that failed
        to load is skipped until a newer one is published. Raises SnapshotsUnavailable."""
        if self.snapshots is None:
            return None
        found = self.snapshots.newest(name, version)
        if found is not None and f"{name}/{version}#{found.id}" in self.status.failed:
            return None
        return found

    def prepare_serving(self, name: str, version: str, early: ServedModel | None = None) -> ServedModel:
        """What to serve for ``version``: its newest snapshot, else its own bundle (``early`` if
        that was prepared already). A snapshot that cannot load is recorded and the version's
        own bundle is served instead."""
        try:
            snapshot = self._newest_snapshot(name, version)
        except SnapshotsUnavailable as exc:
            log.warning("%s; serving %s v%s without its snapshots", exc, name, version)
            snapshot = None
        if snapshot is not None:
            try:
                return self.prepare(name, version, snapshot)
            except LoadError as exc:
                self._record_failure(name, f"{version}#{snapshot.id}", exc)
        if early is not None and early.version == version and early.snapshot_id is None:
            return early
        return self.prepare(name, version)

    def old_snapshot(self, name: str, snapshot_id: int) -> ServedModel | None:
        """A past snapshot of ``name`` by id, loaded on demand (one load at a time, the last
        few kept); None if there is no such snapshot. Raises LoadError or SnapshotsUnavailable."""
        served = self._models.get(name)
        if served is not None and served.snapshot_id == snapshot_id:
            return served
        with self._old_lock:
            kept = self._old.get((name, snapshot_id))
            if kept is not None:
                self._old.move_to_end((name, snapshot_id))
                return kept
            if self.snapshots is None:
                return None
            record = self.snapshots.by_id(name, snapshot_id)
            if record is None:
                return None
            loaded = self.prepare(name, record.model_version, record)
            self._old[(name, snapshot_id)] = loaded
            while len(self._old) > OLD_SNAPSHOTS_KEPT:
                self._old.popitem(last=False)
            return loaded

    def as_trained(self, name: str, version: str) -> ServedModel:
        """``version``'s own forecast, from its training cutoff, though a snapshot of it is served
        (what was forecast then, to set beside the actuals since); loaded on demand like a past
        snapshot, the last few kept. Raises LoadError."""
        served = self._models.get(name)
        if served is not None and served.version == version and served.snapshot_id is None:
            return served
        with self._old_lock:
            kept = self._trained.get((name, version))
            if kept is not None:
                self._trained.move_to_end((name, version))
                return kept
            loaded = self.prepare(name, version)
            self._trained[(name, version)] = loaded
            while len(self._trained) > OLD_SNAPSHOTS_KEPT:
                self._trained.popitem(last=False)
            return loaded

    def _install(self, loaded: ServedModel) -> None:
        """Serve ``loaded`` from now on (the caller holds the load lock)."""
        # Replace the whole mapping: a reader holds either the old or the new one.
        self._models = {**self._models, loaded.name: loaded}
        prefix = f"{loaded.name}/"
        # A snapshot that failed ("name/version#id") stays skipped until a newer one is published.
        self.status.failed = {
            k: v for k, v in self.status.failed.items() if not k.startswith(prefix) or "#" in k
        }
        metrics.record_model_loaded(loaded.name, loaded.version, loaded.run_id, loaded.load_seconds)
        log.info(
            "serving %s v%s%s, origin %s (loaded in %.2fs)",
            loaded.name,
            loaded.version,
            f" snapshot {loaded.snapshot_id}" if loaded.snapshot_id else "",
            loaded.origin,
            loaded.load_seconds,
        )

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
                loaded = self.prepare_serving(name, version)
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
            if version is None:
                continue
            if f"{model.name}/{version}" in self.status.failed:
                continue  # known broken: wait for the alias to move on
            if served and served.version == version:
                try:
                    newest = self.snapshots.newest(model.name, version) if self.snapshots else None
                except SnapshotsUnavailable:
                    continue  # keep what is served until the app database answers
                if served.snapshot_id == (newest.id if newest else None):
                    continue
                if newest is not None and f"{model.name}/{version}#{newest.id}" in self.status.failed:
                    continue  # the newest snapshot cannot load: keep serving, wait for a newer one
            try:
                loaded = self.prepare_serving(model.name, version, prepared.get(model.name))
            except LoadError as exc:
                self._record_failure(model.name, version, exc)
                continue
            if served and served.version == version and served.snapshot_id and not loaded.snapshot_id:
                continue  # the newest snapshot failed: an older one of this version beats none
            if served and (served.version, served.snapshot_id) == (loaded.version, loaded.snapshot_id):
                continue  # a snapshot failed and the version's own bundle is already served
            self._install(loaded)
            changes.append(
                f"{model.name} v{loaded.version}"
                + (f" snapshot {loaded.snapshot_id} (origin {loaded.origin})" if loaded.snapshot_id else "")
            )
        self.status.registry_ok, self.status.registry_error = True, ""
        return changes

    def watch(self, interval: float, stop: threading.Event) -> None:
        """Poll the registry until ``stop`` is set (run in a daemon thread)."""
        while not stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a watcher that dies silently would freeze the champion forever
                log.exception("alias watch failed; retrying in %.0fs", interval)
