"""Prometheus metrics of the API: requests, latency, forecasts served, model loads, and each
model's health (drift, live accuracy, data freshness, training time, champion version).

With several worker processes (``serving.__main__``), counters and histograms live in
prometheus_client's multiprocess files and every scrape sums all the workers; the health gauges
and the serving info are built by the worker that answers (each reads the same app database and
registry, so they agree once the alias watchers have polled).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from serving.metrics_env import MULTIPROCESS_DIR

if TYPE_CHECKING:
    from monitoring.snapshot import HealthSnapshot

REQUESTS = Counter(
    "astralytiq_http_requests_total",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "astralytiq_http_request_duration_seconds",
    "HTTP request latency by route template, method and status",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
)
# The labelled children of each (route, method, status) seen: looking them up through
# ``.labels()`` takes a lock and builds a key on every request.
_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


_CACHE_CHILDREN: dict[tuple[str, str], Counter] = {}
_FORECAST_CHILDREN: dict[tuple[str, str], Counter] = {}


def count_cache(model: str, result: str, series: int) -> None:
    """``series`` series answered from the render cache (``hit``) or computed (``miss``)."""
    child = _CACHE_CHILDREN.get((model, result))
    if child is None:
        child = _CACHE_CHILDREN[(model, result)] = CACHE.labels(model=model, result=result)
    child.inc(series)


def count_forecasts(model: str, version: str, series: int) -> None:
    """``series`` series forecasts served by ``model`` ``version``."""
    child = _FORECAST_CHILDREN.get((model, version))
    if child is None:
        if len(_FORECAST_CHILDREN) > 1000:  # versions come and go: forget the old ones' children
            _FORECAST_CHILDREN.clear()
        child = _FORECAST_CHILDREN[(model, version)] = FORECASTS.labels(model=model, version=version)
    child.inc(series)


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    """One request answered: counted and timed under its route template, method and status."""
    key = (route, method, status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        labels = {"route": route, "method": method, "status": str(status)}
        children = _REQUEST_CHILDREN[key] = (REQUESTS.labels(**labels), LATENCY.labels(**labels))
    children[0].inc()
    children[1].observe(seconds)


FORECASTS = Counter(
    "astralytiq_forecasts_served_total",
    "Series forecasts served, by model and version",
    ["model", "version"],
)
CACHE = Counter(
    "astralytiq_forecast_cache_total",
    "Series forecasts answered from the rendered-forecast cache (hit) or computed (miss)",
    ["model", "result"],
)
MODEL_LOAD_SECONDS = Histogram(
    "astralytiq_model_load_seconds",
    "Time to download, parse and smoke-test a model version",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
MODEL_LOAD_FAILURES = Counter(
    "astralytiq_model_load_failures_total",
    "Model version loads that failed, by reason: missing or invalid (never served), unreachable or crashed (retried)",
    ["model", "reason"],
)
SERVING = Info("astralytiq_model_serving", "The version of each model being served", ["model"])


def record_model_loaded(model: str, version: str, run_id: str, seconds: float) -> None:
    MODEL_LOAD_SECONDS.labels(model=model).observe(seconds)
    SERVING.labels(model=model).info({"version": version, "run_id": run_id})


class ModelHealthCollector(Collector):
    """Model-health gauges built at scrape time from the last snapshot of the app database.

    ``serving.health_gauges`` refreshes the snapshot in the background, so a scrape never waits
    on the database or the registry, and a snapshot swaps in whole (no half-updated label sets).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: HealthSnapshot | None = None
        self._trained_at: dict[str, float] = {}  # model -> newest registered version's creation
        self._champions: dict[str, str] = {}  # model -> served champion version

    def update(
        self, snapshot: HealthSnapshot, trained_at: dict[str, float], champions: dict[str, str]
    ) -> None:
        with self._lock:
            self._snapshot, self._trained_at, self._champions = snapshot, dict(trained_at), dict(champions)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot, trained_at, champions = self._snapshot, self._trained_at, self._champions
        share = GaugeMetricFamily(
            "astralytiq_drift_share",
            "Share of features that drifted in the latest drift check",
            labels=["model"],
        )
        detected = GaugeMetricFamily(
            "astralytiq_drift_detected",
            "1 when the latest drift check found the drifted share at or above the dataset's threshold",
            labels=["model"],
        )
        score = GaugeMetricFamily(
            "astralytiq_drift_feature_score",
            "Drift score of each feature in the latest check (p-value or distance, see the report's method)",
            labels=["model", "feature"],
        )
        drifted = GaugeMetricFamily(
            "astralytiq_drift_feature_drifted",
            "1 when the feature drifted in the latest check",
            labels=["model", "feature"],
        )
        checked = GaugeMetricFamily(
            "astralytiq_drift_checked_timestamp_seconds", "When the latest drift check ran", labels=["model"]
        )
        mase = GaugeMetricFamily(
            "astralytiq_live_mase",
            "MASE of the champion's forecast on the actuals that arrived",
            labels=["model"],
        )
        wape = GaugeMetricFamily(
            "astralytiq_live_wape_percent",
            "WAPE (percent) of the champion's forecast on the actuals that arrived",
            labels=["model"],
        )
        coverage = GaugeMetricFamily(
            "astralytiq_live_interval_coverage_ratio",
            "Share of arrived actuals inside the champion's interval, by nominal level (percent)",
            labels=["model", "level"],
        )
        newest = GaugeMetricFamily(
            "astralytiq_data_newest_actual_timestamp_seconds",
            "Date of the newest actual the latest monitoring run saw",
            labels=["model"],
        )
        age = GaugeMetricFamily(
            "astralytiq_data_age_seconds", "Age of the newest actual, now (data freshness)", labels=["model"]
        )
        trained = GaugeMetricFamily(
            "astralytiq_last_training_timestamp_seconds",
            "When the newest version of the model was registered (the last successful training)",
            labels=["model"],
        )
        champion = GaugeMetricFamily(
            "astralytiq_champion_version", "Version number of the champion this API serves", labels=["model"]
        )
        now = time.time()
        for name, health in sorted((snapshot.models if snapshot else {}).items()):
            if health.drift is not None:
                share.add_metric([name], health.drift.drift_share)
                detected.add_metric([name], float(health.drift.dataset_drift))
                checked.add_metric([name], health.drift.checked_at.timestamp())
                for feature, (value, is_drifted) in sorted(health.drift.features.items()):
                    score.add_metric([name, feature], value)
                    drifted.add_metric([name, feature], float(is_drifted))
            if health.accuracy is not None:
                mase.add_metric([name], health.accuracy.mase)
                wape.add_metric([name], health.accuracy.wape)
                for level, value in sorted(health.accuracy.coverage.items()):
                    coverage.add_metric([name, level], value)
            if health.newest_actual is not None:
                newest.add_metric([name], health.newest_actual.timestamp())
                age.add_metric([name], max(0.0, now - health.newest_actual.timestamp()))
        for name, moment in sorted(trained_at.items()):
            trained.add_metric([name], moment)
        for name, version in sorted(champions.items()):
            if version.isdigit():
                champion.add_metric([name], float(version))
        yield from (
            share,
            detected,
            score,
            drifted,
            checked,
            mase,
            wape,
            coverage,
            newest,
            age,
            trained,
            champion,
        )


HEALTH = ModelHealthCollector()
REGISTRY.register(HEALTH)


def _exposition_registry() -> CollectorRegistry:
    if not os.environ.get(MULTIPROCESS_DIR):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(registry)
    registry.register(HEALTH)
    registry.register(SERVING)  # an Info lives in its process only (no multiprocess files)
    return registry


EXPOSITION = _exposition_registry()


def exposition() -> bytes:
    """The text of /metrics: every worker's requests, latency and forecasts summed."""
    return generate_latest(EXPOSITION)
