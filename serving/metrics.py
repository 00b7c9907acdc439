"""Prometheus metrics of the API: requests, latency, forecasts served, model loads."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "astralytiq_http_requests_total",
    "HTTP requests by route, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "astralytiq_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
)
FORECASTS = Counter(
    "astralytiq_forecasts_served_total",
    "Series forecasts served by model and version",
    ["model", "version"],
)
MODEL_LOAD_SECONDS = Gauge(
    "astralytiq_model_load_seconds", "Seconds the last load of a model took", ["model"]
)
MODEL_LOAD_FAILURES = Counter(
    "astralytiq_model_load_failures_total", "Model versions that failed to load", ["model"]
)
SERVING_VERSION = Gauge(
    "astralytiq_model_serving_info", "1 for the version of each model being served", ["model", "version"]
)


def record_model_loaded(model: str, version: str, seconds: float, previous: str | None) -> None:
    MODEL_LOAD_SECONDS.labels(model=model).set(seconds)
    if previous is not None:
        SERVING_VERSION.remove(model, previous)
    SERVING_VERSION.labels(model=model, version=version).set(1)
