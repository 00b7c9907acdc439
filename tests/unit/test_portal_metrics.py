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


def test_latency_cards_fit_their_card_at_any_scale_and_before_a_refresh() -> None:
    # A value longer than a card is cut off with an ellipsis: the first visit used to read "refresh t…".
    quiet = service_metrics.snapshot(exposition({("/healthz", "200"): [0.001] * 12}))
    busy = service_metrics.ServiceSnapshot([], 987_654_321_000, 12_345_678, None)
    for snap, uptime, recent in ((quiet, 38.5, None), (quiet, None, 0.004), (busy, 3.0, 123_456.0)):
        cards = service_metrics.cards(snap, uptime, recent)
        assert [c.label for c in cards] == [
            "Requests served",
            "Forecasts served",
            "Average throughput",
            "Since your last refresh",
        ]
        assert all(len(c.value) <= service_metrics.CARD_CHARS for c in cards), [c.value for c in cards]
    first_visit = service_metrics.cards(quiet, 38.5, None)
    assert [c.value for c in first_visit] == ["12", "0", "0.31 req/s", "n/a"]
    assert first_visit[3].help is not None and "press Refresh" in first_visit[3].help
    assert [c.value for c in service_metrics.cards(busy, 3.0, 123_456.0)] == [
        "988G",
        "12M",
        "329G req/s",
        "123k req/s",
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 req/s"),
        (0.31, "0.31 req/s"),
        (0.004, "0 req/s"),
        (9.999, "10 req/s"),
        (12.34, "12.3 req/s"),
        (999.4, "999 req/s"),
        (999.6, "1k req/s"),
        (1234, "1.2k req/s"),
        (999_960, "1M req/s"),
        (4.2e12, "4.2T req/s"),
    ],
)
def test_compact_numbers_keep_at_most_four_characters_of_number(value: float, text: str) -> None:
    assert service_metrics.compact(value, "req/s") == text


def test_counts_stay_exact_below_a_million() -> None:
    assert service_metrics.count(999_999) == "999,999"
    assert service_metrics.count(1_234_567) == "1.2M"
