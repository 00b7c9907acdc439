"""Soak: the API at a steady request rate for minutes while the champion alias flips, watching
for errors and for memory that grows.

    .venv/bin/python -m benchmarks.soak                  # 10 minutes at 50 requests/s
    .venv/bin/python -m benchmarks.soak --minutes 1      # a quick look

Starts its own MLflow server and app database in a temporary folder, registers two versions of
a 200-series model, serves them with `python -m serving`, then sends forecast requests on a
fixed schedule (open loop: a slow answer does not slow the sender) while the `champion` alias
moves between the two versions every few seconds, half the time through the API's promotion
and half straight in MLflow. The API process's RSS is sampled every 5 s; growth is measured
from the end of the first minute (after every code path and both versions have been used) to
the end. Targets: zero errors, RSS growth under 10%. Results: benchmarks/results/soak.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.serving import free_port, rss_bytes, say, start, stop, wait_ready

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = REPO / "benchmarks" / "results"
MODEL = "soak_model"
SERIES = 200
TARGETS = {"errors": 0, "rss_growth_pct": 10.0}


def soak_bundle(mean: float) -> Any:
    """A seasonal-naive-shaped bundle of SERIES daily series; each version's level tells it apart."""
    from models.bundle import ForecastBundle, SeriesForecast

    dates = [f"2024-01-{d:02d}" for d in range(1, 29)]
    history = [f"2023-12-{d:02d}" for d in range(1, 29)]
    return ForecastBundle(
        model_name=MODEL,
        freq="D",
        season_length=7,
        max_horizon=28,
        train_start="2023-01-01",
        train_end="2023-12-31",
        nonnegative=True,
        series={
            f"s{i}": SeriesForecast(
                series_id=f"s{i}",
                model="seasonal_naive",
                dates=list(dates),
                mean=[mean + i] * 28,
                sigma=[1.0 + 0.05 * step for step in range(28)],
                history_dates=list(history),
                history_values=[float(v % 7) for v in range(28)],
            )
            for i in range(SERIES)
        },
    )


def register(tracking_uri: str, mean: float) -> str:
    from registry.flavor import register_bundle

    return register_bundle(tracking_uri, "soak", MODEL, soak_bundle(mean).to_json())


def set_alias(tracking_uri: str, version: str) -> None:
    from registry.names import CHAMPION
    from registry.rest import RegistryClient

    RegistryClient(tracking_uri, timeout=30).set_alias(MODEL, CHAMPION, version)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from astralytiq.accounts import create_user
    from astralytiq.db import upgrade_database

    work = Path(tempfile.mkdtemp(prefix="astralytiq-soak-"))
    mlflow_port, api_port = free_port(), free_port()
    tracking_uri = f"http://127.0.0.1:{mlflow_port}"
    base_env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    say(f"MLflow server on {tracking_uri} (work folder {work})")
    mlflow_server = start(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{work / 'mlflow.db'}",
            "--artifacts-destination",
            str(work / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
            "--workers",
            "1",
        ],
        work / "mlflow.log",
        base_env,
    )
    api = None
    try:
        wait_ready(f"{tracking_uri}/health", mlflow_server, lambda r: r.status_code == 200, 180)
        versions = [register(tracking_uri, 10.0), register(tracking_uri, 20.0)]
        mean_of = {versions[0]: 10.0, versions[1]: 20.0}
        set_alias(tracking_uri, versions[0])
        data_dir = work / "data"
        data_dir.mkdir()
        database = f"sqlite:///{data_dir / 'app.db'}"
        upgrade_database(database)
        create_user(database, "admin", "soak-admin-password", "admin")
        env = {
            **base_env,
            "ASTRALYTIQ_DATA_DIR": str(data_dir),
            "ASTRALYTIQ_MLFLOW_TRACKING_URI": tracking_uri,
            "ASTRALYTIQ_ALIAS_POLL_SECONDS": "1",
        }
        api = start([str(BIN / "python"), "-m", "serving", "--port", str(api_port)], work / "api.log", env)
        url = f"http://127.0.0.1:{api_port}"
        wait_ready(f"{url}/readyz", api, lambda r: r.status_code == 200, 180)
        token = httpx.post(
            f"{url}/v1/auth/token", data={"username": "admin", "password": "soak-admin-password"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        say(
            f"API ready; {args.minutes:g} min at {args.rate:g} requests/s, alias flip every {args.flip_seconds:g} s"
        )
        return soak(url, api.pid, headers, tracking_uri, versions, mean_of, args)
    finally:
        if api is not None:
            stop(api)
        stop(mlflow_server)


def soak(
    url: str,
    pid: int,
    headers: dict[str, str],
    tracking_uri: str,
    versions: list[str],
    mean_of: dict[str, float],
    args: argparse.Namespace,
) -> dict[str, Any]:
    seconds = args.minutes * 60
    outcomes: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    mismatches: list[str] = []
    latencies: list[float] = []
    rss: list[tuple[float, int]] = []
    flips: list[tuple[float, str, str]] = []
    lock = threading.Lock()
    stop_event = threading.Event()
    http = httpx.Client(base_url=url, headers=headers, timeout=30, limits=httpx.Limits(max_connections=32))
    started = time.perf_counter()

    def one(index: int, scheduled: float) -> None:
        first = (index * 7) % SERIES
        body = {"series_ids": [f"s{first}", f"s{(first + 1) % SERIES}"], "horizon": 14}
        try:
            response = http.post(f"/v1/models/{MODEL}/forecast", json=body)
        except httpx.HTTPError as exc:
            with lock:
                outcomes[exc.__class__.__name__] += 1
            return
        elapsed = time.perf_counter() - scheduled
        version = response.headers.get("X-Model-Version", "")
        with lock:
            latencies.append(elapsed)
            outcomes[str(response.status_code)] += 1
            seen[version] += 1
            if response.status_code == 200:
                yhat = response.json()["forecasts"][0]["points"][0]["yhat"]
                if mean_of.get(version) is None or yhat != mean_of[version] + first:
                    mismatches.append(f"v{version}: yhat {yhat} for s{first}")

    def flipper() -> None:
        n = 0
        while not stop_event.wait(args.flip_seconds):
            target = versions[(n + 1) % 2]
            how = "api" if n % 4 < 2 else "mlflow"
            try:
                if how == "api":
                    http.post(
                        f"/v1/models/{MODEL}/promote", json={"version": target, "reason": "soak"}
                    ).raise_for_status()
                else:
                    set_alias(tracking_uri, target)
            except httpx.HTTPError as exc:
                with lock:
                    outcomes[f"flip failed: {exc.__class__.__name__}"] += 1
            flips.append((time.perf_counter() - started, how, target))
            n += 1

    def sampler() -> None:
        while not stop_event.wait(5):
            rss.append((time.perf_counter() - started, rss_bytes(pid)))

    threads = [threading.Thread(target=flipper, daemon=True), threading.Thread(target=sampler, daemon=True)]
    for thread in threads:
        thread.start()
    total = int(args.rate * seconds)
    next_report = 60.0
    with ThreadPoolExecutor(32) as pool:
        for index in range(total):
            scheduled = started + index / args.rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, index, scheduled)
            if scheduled - started >= next_report:
                with lock:
                    say(f"{next_report / 60:.0f} min: {dict(outcomes)}; RSS {rss[-1][1] / 2**20:.1f} MB")
                next_report += 60
    stop_event.set()
    for thread in threads:
        thread.join()
    http.close()
    elapsed = time.perf_counter() - started
    warm = [b for t, b in rss if t >= 60] or [b for _, b in rss]
    baseline, final = warm[0], warm[-1]
    ordered = sorted(latencies)
    errors = sum(v for k, v in outcomes.items() if k != "200") + len(mismatches)
    growth = 100 * (final - baseline) / baseline
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "note": "shared 2-core machine: other work ran at the same time",
        "minutes": args.minutes,
        "rate_per_second": args.rate,
        "achieved_rate_per_second": round(len(latencies) / elapsed, 1),
        "requests": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "errors": errors,
        "version_mismatches": mismatches[:20],
        "versions_seen": dict(seen),
        "flips": len(flips),
        "latency_ms": {
            "p50": round(statistics.median(ordered) * 1000, 2),
            "p99": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
            "max": round(ordered[-1] * 1000, 2),
        },
        "rss_mb": {
            "after_first_minute": round(baseline / 2**20, 2),
            "end": round(final / 2**20, 2),
            "peak": round(max(b for _, b in rss) / 2**20, 2),
            "samples": [[round(t, 1), round(b / 2**20, 2)] for t, b in rss],
        },
        "rss_growth_pct": round(growth, 2),
        "targets": TARGETS,
        "met": {"errors": errors == TARGETS["errors"], "rss_growth_pct": growth < TARGETS["rss_growth_pct"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="Forecast requests per second.")
    parser.add_argument("--flip-seconds", type=float, default=5.0, help="Seconds between alias flips.")
    parser.add_argument("--output", type=Path, default=RESULTS / "soak.json")
    args = parser.parse_args()
    report = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    say(
        f"{report['requests']} requests, {report['errors']} errors, {report['flips']} flips, "
        f"RSS {report['rss_mb']['after_first_minute']} -> {report['rss_mb']['end']} MB "
        f"({report['rss_growth_pct']:+.1f}%); written to {args.output}"
    )
    sys.exit(0 if all(report["met"].values()) else 1)


if __name__ == "__main__":
    main()
