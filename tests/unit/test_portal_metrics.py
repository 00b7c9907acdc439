"""The portal's reader of the API's Prometheus text, fed by the real prometheus_client."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from portal import service_metrics
from serving.metrics import LATENCY


def exposition(latencies: dict[tuple[str, str], list[float]]) -> str:
    registry = CollectorRegistry()
    requests = Counter(
        "astralytiq_http_requests", "requests", ["route", "method", "status"], registry=registry
    )
    latency = Histogram(
        "astralytiq_http_request_duration_seconds",
        "latency",
        ["route", "method", "status"],
        buckets=LATENCY._upper_bounds[:-1],  # the API's own buckets
        registry=registry,
    )
    for (route, status), values in latencies.items():
        for value in values:
            requests.labels(route, "GET", status).inc()
            latency.labels(route, "GET", status).observe(value)
    return generate_latest(registry).decode()


def test_counts_and_quantiles_per_route_summed_over_status() -> None:
    text = exposition(
        {
            ("/v1/models/{name}/forecast", "200"): [0.003] * 90 + [0.04] * 9,
            ("/v1/models/{name}/forecast", "500"): [0.3],
            ("/healthz", "200"): [0.0005] * 10,
        }
    )
    snap = service_metrics.snapshot(text)
    assert snap.total_requests == 110
    forecast = snap.routes[0]
    assert (forecast.route, forecast.requests, forecast.errors) == ("/v1/models/{name}/forecast", 100, 1)
    # 90 of 100 in (2.5 ms, 5 ms]: the median is inside that bucket, p95 in (20 ms, 50 ms].
    assert forecast.p50_ms is not None and 2.5 < forecast.p50_ms <= 5
    assert forecast.p95_ms is not None and 20 < forecast.p95_ms <= 50
    assert forecast.p99_ms is not None and 20 < forecast.p99_ms <= 50
    health = snap.routes[1]
    assert health.p99_ms is not None and health.p99_ms <= 1


def test_quantile_in_the_overflow_bucket_is_the_last_finite_bound() -> None:
    assert service_metrics.quantile(0.99, [(1.0, 1), (float("inf"), 100)]) == 1.0
    assert service_metrics.quantile(0.5, []) is None
    assert service_metrics.quantile(0.5, [(1.0, 0), (float("inf"), 0)]) is None


def test_rate_between_snapshots_and_after_a_restart() -> None:
    before = service_metrics.snapshot(exposition({("/healthz", "200"): [0.001] * 10}))
    after = service_metrics.snapshot(exposition({("/healthz", "200"): [0.001] * 40}))
    assert service_metrics.rate(before, after, 10) == pytest.approx(3.0)
    assert service_metrics.rate(after, before, 10) is None  # counters went down: the API restarted
