"""Prometheus metrics of the API: requests, latency, forecasts served, model loads."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, Info

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
