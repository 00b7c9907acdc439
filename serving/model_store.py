"""The champions being served, swapped atomically when an alias moves.

A new version is downloaded, parsed and smoke-tested completely before it replaces the one in
service, so a request always sees one whole model; a version that fails keeps the old one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from models.bundle import ForecastBundle
from serving import metrics
from serving.registry import NotFound, RegistryClient, RegistryError

CHAMPION = "champion"
log = logging.getLogger("astralytiq.serving")


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    run_id: str
    bundle: ForecastBundle
    loaded_at: float
    load_seconds: float


class ModelStore:
    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        self._models: dict[str, ServedModel] = {}
        self._lock = threading.Lock()  # one refresh at a time; readers never wait
        self.last_refresh_ok: bool = False
        self.last_error: str = ""
        self.failed_versions: dict[str, str] = {}  # "name/version" -> reason, not retried

    def get(self, name: str) -> ServedModel | None:
        return self._models.get(name)

    def all(self) -> dict[str, ServedModel]:
        return dict(self._models)

    def _load(self, name: str, version: str, run_id: str) -> ServedModel:
        started = time.perf_counter()
        bundle = ForecastBundle.from_json(self.registry.download_bundle(name, version))
        if bundle.model_name != name or not bundle.series:
            raise ValueError(f"bundle of {name} v{version} is for {bundle.model_name!r} or empty")
        # Smoke test: the longest horizon of one series must produce finite numbers.
        rows = bundle.forecast([next(iter(bundle.series))], bundle.max_horizon, [95])
        if any(v != v for row in rows for v in (row["yhat"], row["yhat_lower_95"])):  # NaN check
            raise ValueError(f"{name} v{version} forecasts NaN")
        seconds = time.perf_counter() - started
        return ServedModel(name, version, run_id, bundle, time.time(), seconds)

    def refresh(self) -> list[str]:
        """Load every champion that is not served yet; returns 'name vX' for each swap."""
        with self._lock:
            changes: list[str] = []
            try:
                registered = self.registry.list_models()
            except RegistryError as exc:
                self.last_refresh_ok, self.last_error = False, str(exc)
                return changes
            for model in registered:
                version = model.aliases.get(CHAMPION)
                served = self._models.get(model.name)
                if version is None or (served and served.version == version):
                    continue
                key = f"{model.name}/{version}"
                if key in self.failed_versions:
                    continue
                try:
                    info = self.registry.version_by_alias(model.name, CHAMPION)
                    loaded = self._load(model.name, info.version, info.run_id)
                except (RegistryError, NotFound, ValueError, KeyError, TypeError) as exc:
                    self.failed_versions[key] = str(exc)
                    metrics.MODEL_LOAD_FAILURES.labels(model=model.name).inc()
                    log.error(
                        "could not load %s v%s, keeping %s: %s",
                        model.name,
                        version,
                        f"v{served.version}" if served else "nothing",
                        exc,
                    )
                    continue
                # Replace the whole mapping: a reader holds either the old or the new one.
                self._models = {**self._models, model.name: loaded}
                metrics.record_model_loaded(
                    loaded.name,
                    loaded.version,
                    loaded.load_seconds,
                    previous=served.version if served else None,
                )
                changes.append(f"{model.name} v{loaded.version}")
                log.info("serving %s v%s (loaded in %.2fs)", model.name, loaded.version, loaded.load_seconds)
            self.last_refresh_ok, self.last_error = True, ""
            return changes

    def watch(self, interval: float, stop: threading.Event) -> None:
        """Poll the registry until ``stop`` is set (run in a daemon thread)."""
        while not stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a watcher that dies silently would freeze the champion forever
                log.exception("alias watch failed; retrying in %.0fs", interval)
