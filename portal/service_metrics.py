"""Latency and throughput of the API, read from its own Prometheus exposition (/metrics).

A small reader of the text format, enough for counters and histograms: the portal image does not
carry prometheus_client. Quantiles come from the histogram buckets the way Prometheus'
``histogram_quantile`` computes them (linear inside the bucket that holds the rank).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

REQUESTS = "astralytiq_http_requests_total"
LATENCY_BUCKET = "astralytiq_http_request_duration_seconds_bucket"
FORECASTS = "astralytiq_forecasts_served_total"
START_TIME = "process_start_time_seconds"
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class RouteStats:
    route: str
    requests: float
    errors: float  # 5xx answers
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class ServiceSnapshot:
    routes: list[RouteStats]
    total_requests: float
    forecasts_served: float
    started_at: float | None  # Unix time the API process started, when it exports it


def parse(text: str) -> list[Sample]:
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        samples.append(Sample(match["name"], labels, value))
    return samples


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """``histogram_quantile(q, ...)`` over cumulative (upper bound, count) buckets."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):  # in the overflow bucket: the best bound known is the last finite one
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def snapshot(text: str) -> ServiceSnapshot:
    samples = parse(text)
    requests: dict[str, float] = defaultdict(float)
    errors: dict[str, float] = defaultdict(float)
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    forecasts, started_at = 0.0, None
    for s in samples:
        if s.name == REQUESTS:
            requests[s.labels.get("route", "?")] += s.value
            if s.labels.get("status", "").startswith("5"):
                errors[s.labels.get("route", "?")] += s.value
        elif s.name == LATENCY_BUCKET:
            # Summed over method and status: cumulative buckets add up bucket by bucket.
            buckets[s.labels.get("route", "?")][float(s.labels["le"])] += s.value
        elif s.name == FORECASTS:
            forecasts += s.value
        elif s.name == START_TIME:
            started_at = s.value

    def ms(route: str, q: float) -> float | None:
        value = quantile(q, list(buckets[route].items()))
        return None if value is None else value * 1000

    routes = [
        RouteStats(route, count, errors[route], ms(route, 0.5), ms(route, 0.95), ms(route, 0.99))
        for route, count in sorted(requests.items(), key=lambda kv: -kv[1])
    ]
    return ServiceSnapshot(routes, sum(requests.values()), forecasts, started_at)


def rate(before: ServiceSnapshot, after: ServiceSnapshot, seconds: float) -> float | None:
    """Requests per second between two snapshots; None if the API restarted in between."""
    if seconds <= 0 or after.total_requests < before.total_requests:
        return None
    return (after.total_requests - before.total_requests) / seconds


# A metric card has room for about ten characters at laptop width; Streamlit cuts a longer value
# off with an ellipsis ("refresh t…"), so card values are numbers shortened to fit, never sentences.
CARD_CHARS = 10


def compact(value: float, unit: str = "") -> str:
    """At most four characters of number, with a k/M/G/T suffix, then the unit: "0.31 req/s", "1.2M"."""
    scaled, suffix = abs(value), ""
    for step in ("k", "M", "G", "T"):
        if round(scaled, 2 if scaled < 10 else 1) < 999.5:
            break
        scaled, suffix = scaled / 1000, step
    # Fewer decimals as the number grows, so every value takes at most four characters.
    decimals = (2 if scaled < 10 else 1 if scaled < 100 else 0) if not suffix else (1 if scaled < 9.95 else 0)
    text = f"{scaled:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = ("-" if value < 0 and text != "0" else "") + text + suffix
    return f"{text} {unit}" if unit else text


def count(value: float) -> str:
    """A counter for a card: exact with thousands separators up to 999,999, then compact."""
    return f"{value:,.0f}" if value < 999_999.5 else compact(value)


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    help: str | None = None


def cards(snap: ServiceSnapshot, uptime: float | None, recent: float | None) -> list[Card]:
    """The latency tab's row of metric cards: totals since the API started and recent throughput."""
    return [
        Card("Requests served", count(snap.total_requests)),
        Card("Forecasts served", count(snap.forecasts_served), "Series forecasts, all models."),
        Card(
            "Average throughput",
            compact(snap.total_requests / uptime, "req/s") if uptime else "n/a",
            "Since the API process started.",
        ),
        Card(
            "Since your last refresh",
            compact(recent, "req/s") if recent is not None else "n/a",
            "Requests per second since you last opened or refreshed this tab"
            + ("." if recent is not None else ": press Refresh to see it."),
        ),
    ]
