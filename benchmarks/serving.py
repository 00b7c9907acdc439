"""Serving speed and footprint: this API against the framework's floor and `mlflow models serve`.

    .venv/bin/python -m benchmarks.serving        # about 8 minutes; writes benchmarks/results/

Builds a 1,000-series champion from M4 Weekly (seasonal naive through the real engine),
registers it in an MLflow server started here, then serves that one registered version on
loopback with `mlflow models serve --env-manager local` (MLflow's own scoring server for the
model's pyfunc flavor) and with `astralytiq serve` run from the API image's package set. Both
get the same 10-series, 28-step requests (rotating over all 1,000 series) from wrk at
concurrency 1, 16 and 64, then a fixed 200 requests/s open loop. The API is measured with its
rendered-forecast cache on (the default) and off, and with one and two worker processes.

The floor (`benchmarks.serving_floor`) is a bare FastAPI app under the same uvicorn and HTTP
protocol, with the same process count: it parses the same JSON bodies and answers each with a
constant body the size of the API's answer. Each API run is paired with a floor run just before
it, so the ratio of their requests/s is what the API's own work costs, whatever else loads the
machine. A batch request (three of those requests in one `POST /v1/forecasts`) is paired the same way.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import ClosedLoopResult, OpenLoopResult, Target, closed_loop, open_loop, wrk_binary

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = REPO / "benchmarks" / "results"
M4_WEEKLY = REPO / "benchmarks" / "data" / "m4" / "Weekly-train.csv"
MODEL = "m4_weekly_serving"
HORIZON = 28
SERIES_PER_REQUEST = 10
LEVELS = [80.0, 95.0]
CONCURRENCIES = (1, 16, 64)
BATCH_SIZE = 3  # requests per batch: 4,200 numbers, rendered on the event loop like a single request
TARGETS = {
    "throughput_ratio_c16": 10.0,
    "floor_ratio_c16": 0.5,
    "floor_ratio_c16_without_cache": 0.25,
    "floor_cpu_ratio_c16": 0.5,
    "floor_cpu_ratio_c16_without_cache": 0.25,
    "p99_ms_c16": 20.0,
    "two_process_speedup_c16": 1.6,
    "p99_ms_at_200rps": 20.0,
    "rss_mb": 100.0,
    "ready_s": 3.0,
}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the model ------------------------------------------------------------------------------


def m4_weekly_frame(n_series: int) -> Any:
    """``n_series`` real weekly series: M4 Weekly's 359, then the same series as they stood one,
    two and three years earlier (each a real history with its own end). M4 gives no dates, so
    every full series ends on 2018-12-30 and the earlier cuts end 52, 104, 156 weeks before."""
    import pandas as pd

    with open(M4_WEEKLY, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        values = {row[0]: [float(v) for v in row[1:] if v] for row in reader}
    end = pd.Timestamp("2018-12-30")
    frames = []
    for cut in (0, 52, 104, 156):
        for series_id, ys in values.items():
            history = ys[: len(ys) - cut] if cut else ys
            if len(history) < 160:  # three seasons and a backtest window
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "series_id": series_id if not cut else f"{series_id}@-{cut}w",
                        "ds": pd.date_range(
                            end=end - pd.Timedelta(weeks=cut), periods=len(history), freq="W"
                        ),
                        "y": history,
                    }
                )
            )
            if len(frames) == n_series:
                return pd.concat(frames, ignore_index=True)
    raise SystemExit(f"M4 Weekly yields only {len(frames)} series of 160+ weeks; ask for fewer")


def register_champion(tracking_uri: str, n_series: int) -> tuple[str, int]:
    """Train seasonal naive on every series through the engine, register it, make it champion."""
    from models import engine
    from models.frame import fingerprint
    from registry import registration
    from registry.names import CHAMPION

    frame = m4_weekly_frame(n_series)
    config = engine.TrainingConfig(
        freq="W", horizon=HORIZON, season_length=52, candidates=("seasonal_naive",), backtest_windows=1
    )

    def progress(done: int, total: int, _: str) -> None:
        if done % 250 == 0 or done == total:
            say(f"  trained {done}/{total} series")

    result = engine.train(frame, config, MODEL, n_jobs=2, progress=progress)
    # The platform's own registration path; the benchmark's MLflow server is fresh, so the
    # version is made champion directly (there is nothing to gate against).
    registered = registration.register_once(
        result,
        tracking_uri=tracking_uri,
        experiment="serving-benchmark",
        key=f"serving-benchmark-{n_series}-{fingerprint(frame)}",
        params={"dataset": "m4_weekly", "series": n_series, "horizon": HORIZON},
        data_fingerprint=fingerprint(frame),
        contract_docs=None,
    )
    registration.client_for(tracking_uri).set_registered_model_alias(MODEL, CHAMPION, registered.version)
    return registered.version, len(result.bundle.to_json().encode())


# --- processes ------------------------------------------------------------------------------


@dataclass
class Running:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    ready_seconds: float = 0.0
    ready_cpu_seconds: float = 0.0
    rss_samples: list[int] = field(default_factory=list)
    # The metrics token: /metrics and what /readyz serves are not for anonymous callers.
    operator_headers: dict[str, str] = field(default_factory=dict)


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=REPO
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    ok: Callable[[httpx.Response], bool],
    timeout: float,
    headers: dict[str, str] | None = None,
) -> float:
    """Seconds from now until ``ok`` holds for GET ``url`` (polled every 20 ms)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {process.returncode}; see its log")
        try:
            if ok(httpx.get(url, timeout=1, headers=headers)):
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"{url} not ready after {timeout:.0f}s")


def start_tracking_server(workdir: Path, env: dict[str, str], running: list[subprocess.Popen[bytes]]) -> str:
    """An MLflow tracking server on a free port (SQLite store, artifacts in ``workdir``), added to
    ``running`` for the caller to stop; returns its URI once it answers."""
    port = free_port()
    tracking = start(
        [
            str(BIN / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
            "--artifacts-destination", str(workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        workdir / "mlflow-server.log",
        {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )  # fmt: skip
    running.append(tracking)
    uri = f"http://127.0.0.1:{port}"
    wait_ready(f"{uri}/health", tracking, lambda r: r.status_code == 200, 180)
    return uri


def process_tree(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(root: int) -> float:
    """CPU time used so far by a process tree, including its finished (reaped) children: what
    start-up costs on an idle machine, whatever else this one is running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def serving_pid(root: int) -> int:
    """The process that answers requests: the deepest of the tree (uvicorn under `mlflow models serve`)."""
    return process_tree(root)[-1]


@contextmanager
def sampling_rss(server: Running, every: float = 0.25) -> Iterator[None]:
    stop_event = threading.Event()
    pid = serving_pid(server.process.pid)

    def sample() -> None:
        while not stop_event.wait(every):
            server.rss_samples.append(rss_bytes(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop_event.set()
        thread.join()


# --- requests -------------------------------------------------------------------------------


def request_windows(series_ids: list[str]) -> list[list[str]]:
    """Consecutive 10-series windows covering every series once: the rotation both servers get."""
    return [
        series_ids[i : i + SERIES_PER_REQUEST]
        for i in range(0, len(series_ids) - SERIES_PER_REQUEST + 1, SERIES_PER_REQUEST)
    ]


def api_body(window: list[str]) -> bytes:
    return json.dumps({"series_ids": window, "horizon": HORIZON, "levels": LEVELS}).encode()


def batch_body(windows: list[list[str]]) -> bytes:
    return json.dumps(
        {
            "requests": [
                {"model": MODEL, "series_ids": w, "horizon": HORIZON, "levels": LEVELS} for w in windows
            ]
        }
    ).encode()


def mlflow_body(window: list[str]) -> bytes:
    return json.dumps(
        {
            "dataframe_split": {"columns": ["series_id", "horizon"], "data": [[s, HORIZON] for s in window]},
            "params": {"levels": LEVELS},
        }
    ).encode()


def same_numbers(api: Target, mlflow: Target) -> int:
    """Both servers answer the first request with the same forecasts (the same model); returns
    the number of values compared."""
    ours = httpx.post(api.url, content=api.bodies[0], headers=api.headers, timeout=30)
    theirs = httpx.post(mlflow.url, content=mlflow.bodies[0], headers=mlflow.headers, timeout=30)
    ours.raise_for_status()
    theirs.raise_for_status()
    rows = theirs.json()["predictions"]
    compared = 0
    points = [(f["series_id"], p) for f in ours.json()["forecasts"] for p in f["points"]]
    if len(points) != len(rows):
        raise SystemExit(f"the servers disagree: {len(points)} points against {len(rows)} rows")
    for (series_id, point), row in zip(points, rows, strict=True):
        assert row["series_id"] == series_id and row["ds"] == point["ds"], (row, point)
        expected = [point["yhat"]] + [b for i in point["intervals"] for b in (i["lower"], i["upper"])]
        found = [row["yhat"]] + [
            row[f"yhat_{side}_{level:g}"] for level in LEVELS for side in ("lower", "upper")
        ]
        for a, b in zip(expected, found, strict=True):
            if abs(a - b) > 1e-9 * max(1.0, abs(a)):
                raise SystemExit(f"the servers disagree on {series_id} {point['ds']}: {a} != {b}")
            compared += 1
    return compared


# --- the run --------------------------------------------------------------------------------


def api_environment(workdir: Path, choice: str) -> Path:
    if choice == "dev":
        return BIN
    from infra.run_production_stack import build_role_environment

    uv = REPO / ".tools" / "bin" / "uv"
    bin_dir = build_role_environment(
        "api", workdir / "api-env", str(uv if uv.exists() else shutil.which("uv"))
    )
    # The image is built with UV_COMPILE_BYTECODE=1: compile here too, or the first start pays for it.
    subprocess.run(
        [str(bin_dir / "python"), "-m", "compileall", "-q", "-j", "0", str(bin_dir.parent / "lib")],
        check=True,
        capture_output=True,
    )
    return bin_dir


def production_api(
    api_bin: Path, data_dir: Path, tracking_uri: str, base_env: dict[str, str], key_name: str
) -> tuple[dict[str, str], str]:
    """The environment of an API as production configures it, its app database migrated, and an
    API key for ``MODEL``: (environment, key)."""
    env = {
        **base_env,
        "ASTRALYTIQ_DATA_DIR": str(data_dir),
        "ASTRALYTIQ_MLFLOW_TRACKING_URI": tracking_uri,
        "ASTRALYTIQ_ENVIRONMENT": "production",
        "ASTRALYTIQ_SECRET_KEY": os.urandom(32).hex(),
        "ASTRALYTIQ_METRICS_PORT": "0",  # no cluster scraper here; the port may be taken
        "ASTRALYTIQ_METRICS_TOKEN": os.urandom(24).hex(),
    }
    subprocess.run(
        [str(api_bin / "astralytiq"), "db", "upgrade"], env=env, check=True, capture_output=True, cwd=REPO
    )
    key = subprocess.run(
        [str(api_bin / "astralytiq"), "keys", "create", key_name, "--model", MODEL],
        env=env, check=True, capture_output=True, text=True, cwd=REPO,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    return env, key


def start_api(
    name: str, bin_dir: Path, workdir: Path, env: dict[str, str], port: int, workers: int = 1
) -> Running:
    process = start(
        [str(bin_dir / "astralytiq"), "serve", "--port", str(port), "--workers", str(workers)],
        workdir / f"{name}.log",
        env,
    )
    url = f"http://127.0.0.1:{port}"
    operator = {"Authorization": f"Bearer {env['ASTRALYTIQ_METRICS_TOKEN']}"}
    seconds = wait_ready(
        f"{url}/readyz",
        process,
        lambda r: r.status_code == 200 and MODEL in r.json().get("models", {}),
        120,
        operator,
    )
    return Running(name, process, url, seconds, cpu_seconds(process.pid), operator_headers=operator)


def start_floor(
    name: str, bin_dir: Path, workdir: Path, env: dict[str, str], answers: tuple[Path, Path], workers: int
) -> Running:
    """The bare FastAPI app under the API's own uvicorn, HTTP protocol and process count."""
    port = free_port()
    process = start(
        [
            str(bin_dir / "python"), "-m", "uvicorn", "benchmarks.serving_floor:app",
            "--host", "127.0.0.1", "--port", str(port), "--http", "httptools", "--ws", "none",
            "--no-access-log", "--log-level", "warning", "--workers", str(workers),
        ],
        workdir / f"{name}.log",
        {**env, "SERVING_FLOOR_FORECAST": str(answers[0]), "SERVING_FLOOR_BATCH": str(answers[1])},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    # Ready when every worker answers: a few probes over fresh connections reach them all.
    wait_ready(f"{url}/v1/models/{MODEL}/forecast", process, lambda r: r.status_code == 405, 60)
    return Running(name, process, url, time.perf_counter() - started, cpu_seconds(process.pid))


def cache_counts(server: Running) -> dict[str, float]:
    """Series answered from the API's rendered-forecast cache and computed, from its /metrics."""
    counts = {"hit": 0.0, "miss": 0.0}
    if server.name.startswith("api"):
        for line in httpx.get(
            f"{server.url}/metrics", timeout=10, headers=server.operator_headers
        ).text.splitlines():
            if line.startswith("astralytiq_forecast_cache_total{") and f'model="{MODEL}"' in line:
                counts["hit" if 'result="hit"' in line else "miss"] += float(line.rsplit(" ", 1)[1])
    return counts


def log_run(name: str, r: ClosedLoopResult) -> None:
    say(
        f"{name}: c{r.concurrency:<3} {r.requests_per_second:8.1f} req/s  "
        f"p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms  errors {r.errors}"
    )


def paired(
    pairs: list[tuple[str, Target, Running]], concurrencies: tuple[int, ...], seconds: float
) -> dict[str, list[dict[str, Any]]]:
    """Each target at each concurrency, in turn (the floor just before the API it is compared
    with): a load that another user puts on the machine then weighs on both alike. Each run
    also records the CPU time its server (all its processes) spent per request: the work a
    request costs, which a busy machine delays but does not change."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in pairs}
    for concurrency in concurrencies:
        for name, target, server in pairs:
            before = cpu_seconds(server.process.pid)
            result = closed_loop(target, concurrency, seconds)
            spent = cpu_seconds(server.process.pid) - before
            log_run(name, result)
            out[name].append(
                {
                    **result.as_dict(),
                    "server_cpu_us_per_request": round(spent / max(result.requests, 1) * 1e6, 1),
                }
            )
    return out


def footprint(server: Running, target: Target, rate: float, rate_seconds: float) -> dict[str, Any]:
    """The open loop at ``rate`` while the serving process's RSS is sampled."""
    with sampling_rss(server):
        fixed: OpenLoopResult = open_loop(target, rate, rate_seconds)
    say(
        f"{server.name}: {rate:.0f} req/s open loop: p50 {fixed.p50_ms:.2f} ms, p99 {fixed.p99_ms:.2f} ms, "
        f"achieved {fixed.achieved_rate:.1f} req/s, errors {fixed.errors}"
    )
    tree = process_tree(server.process.pid)
    return {
        "ready_seconds": round(server.ready_seconds, 3),
        "ready_cpu_seconds": round(server.ready_cpu_seconds, 3),
        "series_from_cache": cache_counts(server),
        "rss_mb": {
            "serving_process_steady": round(statistics.median(server.rss_samples or [0]) / 2**20, 1),
            "serving_process_peak": round(max(server.rss_samples, default=0) / 2**20, 1),
            "process_tree_after": round(sum(rss_bytes(p) for p in tree) / 2**20, 1),
            "processes": len(tree),
        },
        "open_loop": fixed.as_dict(),
    }


def retarget(target: Target, name: str, server: Running) -> Target:
    """``target``'s requests sent to another server of the same routes."""
    path = target.url.split("/", 3)[3]
    return Target(name, f"{server.url}/{path}", target.headers, target.bodies)


def run(args: argparse.Namespace) -> dict[str, Any]:
    wrk_binary()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="astralytiq-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    base_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    running: list[subprocess.Popen[bytes]] = []
    load_before = os.getloadavg()
    seconds = args.seconds
    try:
        say(f"MLflow tracking server (SQLite, local artifacts) in {workdir}")
        tracking_uri = start_tracking_server(workdir, base_env, running)

        say(f"training {args.series} M4 Weekly series (seasonal naive, horizon {HORIZON}) and registering")
        version, bundle_bytes = register_champion(tracking_uri, args.series)
        say(f"{MODEL} v{version} is champion ({bundle_bytes / 1e6:.1f} MB bundle)")

        say(f"API environment: {'the dev venv' if args.api_env == 'dev' else 'the API image package set'}")
        api_bin = api_environment(workdir, args.api_env)
        app_env, key = production_api(api_bin, workdir / "app", tracking_uri, base_env, "benchmark")

        api = start_api("api", api_bin, workdir, app_env, free_port())
        running.append(api.process)
        say(f"api ready in {api.ready_seconds:.2f}s ({api.ready_cpu_seconds:.2f}s of CPU)")
        series_ids = httpx.get(f"{api.url}/v1/models/{MODEL}/series", headers={"X-API-Key": key}).json()
        windows = request_windows(series_ids)
        headers = {"Content-Type": "application/json", "X-API-Key": key}
        single = Target(
            "api", f"{api.url}/v1/models/{MODEL}/forecast", headers, [api_body(w) for w in windows]
        )
        batch = Target(
            "api_batch",
            f"{api.url}/v1/forecasts",
            headers,
            [
                batch_body(windows[i : i + BATCH_SIZE])
                for i in range(0, len(windows) - BATCH_SIZE + 1, BATCH_SIZE)
            ],
        )
        # The floor answers with bodies of the API's own sizes: its answers to the first requests.
        answers = (workdir / "forecast-answer.json", workdir / "batch-answer.json")
        for path, target in zip(answers, (single, batch), strict=True):
            answer = httpx.post(target.url, content=target.bodies[0], headers=headers, timeout=30)
            answer.raise_for_status()
            path.write_bytes(answer.content)
        sizes = {"forecast": answers[0].stat().st_size, "batch": answers[1].stat().st_size}
        say(f"answers: {sizes['forecast']:,} bytes (forecast), {sizes['batch']:,} bytes (batch)")

        floor = start_floor("floor", api_bin, workdir, base_env, answers, 1)
        running.append(floor.process)
        api2 = start_api("api_2_processes", api_bin, workdir, app_env, free_port(), workers=2)
        running.append(api2.process)
        floor2 = start_floor("floor_2_processes", api_bin, workdir, base_env, answers, 2)
        running.append(floor2.process)

        mlflow_port = free_port()
        started = time.perf_counter()
        mlflow_serve = start(
            [
                str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}@champion",
                "--env-manager", "local", "--host", "127.0.0.1", "--port", str(mlflow_port),
            ],
            workdir / "mlflow-serve.log",
            {**base_env, "MLFLOW_TRACKING_URI": tracking_uri},
        )  # fmt: skip
        running.append(mlflow_serve)
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        wait_ready(f"{mlflow_url}/ping", mlflow_serve, lambda r: r.status_code == 200, 300)
        ml = Running(
            "mlflow", mlflow_serve, mlflow_url, time.perf_counter() - started, cpu_seconds(mlflow_serve.pid)
        )
        say(f"mlflow models serve ready in {ml.ready_seconds:.2f}s ({ml.ready_cpu_seconds:.2f}s of CPU)")
        mlflow = Target(
            "mlflow",
            f"{mlflow_url}/invocations",
            {"Content-Type": "application/json"},
            [mlflow_body(w) for w in windows],
        )
        compared = same_numbers(single, mlflow)
        say(f"both servers give the same {compared} numbers for the first request")

        targets = {
            "floor": retarget(single, "floor", floor),
            "api": single,
            "floor_batch": retarget(batch, "floor_batch", floor),
            "api_batch": batch,
            "floor_2_processes": retarget(single, "floor_2_processes", floor2),
            "api_2_processes": retarget(single, "api_2_processes", api2),
            "mlflow": mlflow,
        }
        by = {
            "floor": floor,
            "api": api,
            "floor_batch": floor,
            "api_batch": api,
            "floor_2_processes": floor2,
            "api_2_processes": api2,
            "mlflow": ml,
        }
        for name, target in targets.items():
            say(f"{name}: warm-up")
            closed_loop(target, 16, 3)

        closed: dict[str, list[dict[str, Any]]] = {}
        closed |= paired([(n, targets[n], by[n]) for n in ("floor", "api", "mlflow")], CONCURRENCIES, seconds)
        closed |= paired([(n, targets[n], by[n]) for n in ("floor_batch", "api_batch")], (16,), seconds)
        # One process and two, each beside its floor: the gain of the second core.
        processes = paired(
            [(n, targets[n], by[n]) for n in ("floor", "api", "floor_2_processes", "api_2_processes")],
            (16, 64),
            seconds,
        )
        closed |= {f"{name}_scaling": runs for name, runs in processes.items()}
        servers = {
            "api": footprint(api, single, args.rate, args.rate_seconds),
            "api_2_processes": {
                "workers_rss_mb": [
                    round(rss_bytes(pid) / 2**20, 1) for pid in process_tree(api2.process.pid)[1:]
                ],
                "series_from_cache": cache_counts(api2),
            },
            "mlflow": footprint(ml, mlflow, args.rate, args.rate_seconds),
        }
        for process in (api2.process, floor2.process, mlflow_serve, api.process):
            stop(process)

        # The same API with its rendered-forecast cache off: every answer computed.
        uncached = start_api(
            "api_no_cache", api_bin, workdir, {**app_env, "ASTRALYTIQ_FORECAST_CACHE_MB": "0"}, free_port()
        )
        running.append(uncached.process)
        nc = {
            "floor_again": targets["floor"],
            "api_no_cache": retarget(single, "api_no_cache", uncached),
            "floor_batch_again": targets["floor_batch"],
            "api_no_cache_batch": retarget(batch, "api_no_cache_batch", uncached),
        }
        say("api_no_cache: warm-up")
        closed_loop(nc["api_no_cache"], 16, 3)
        by = {"floor_again": floor, "api_no_cache": uncached, "floor_batch_again": floor}
        by["api_no_cache_batch"] = uncached
        closed |= paired([(n, nc[n], by[n]) for n in ("floor_again", "api_no_cache")], CONCURRENCIES, seconds)
        closed |= paired(
            [(n, nc[n], by[n]) for n in ("floor_batch_again", "api_no_cache_batch")], (16,), seconds
        )
        servers["api_no_cache"] = footprint(uncached, nc["api_no_cache"], args.rate, args.rate_seconds)
    finally:
        for process in reversed(running):
            stop(process)
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    results = {"closed_loop": closed, "servers": servers}
    return {
        "benchmark": "serving",
        "command": "python -m benchmarks.serving " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "shared": "other sessions use this machine during the run: compare ratios within the run",
            "python": platform.python_version(),
            "wrk": subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True).stdout.splitlines()[
                0
            ],
        },
        "model": {
            "name": MODEL,
            "version": version,
            "series": args.series,
            "horizon": HORIZON,
            "bundle_mb": round(bundle_bytes / 1e6, 2),
            "request": f"{SERIES_PER_REQUEST} series x {HORIZON} steps, levels {LEVELS}, rotating over {len(windows)} requests",
            "batch": f"{BATCH_SIZE} such requests in one POST /v1/forecasts",
            "answer_bytes": sizes,
        },
        "api_environment": args.api_env,
        "duration_seconds": seconds,
        "results": results,
        "ratios": ratios(closed),
        "cpu_ratios": cpu_ratios(closed),
        "targets": evaluate(results, args.rate),
    }


def _rate(closed: dict[str, list[dict[str, Any]]], name: str, concurrency: int) -> float:
    return float(next(r["requests_per_second"] for r in closed[name] if r["concurrency"] == concurrency))


def _cpu(closed: dict[str, list[dict[str, Any]]], name: str, concurrency: int) -> float:
    return float(
        next(r["server_cpu_us_per_request"] for r in closed[name] if r["concurrency"] == concurrency)
    )


def ratios(closed: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Requests/s of each API run over its paired run (floor, mlflow, one process), by concurrency."""
    pairs = {
        "api / floor": ("api", "floor"),
        "api, cache off / floor": ("api_no_cache", "floor_again"),
        "api batch / floor batch": ("api_batch", "floor_batch"),
        "api batch, cache off / floor batch": ("api_no_cache_batch", "floor_batch_again"),
        "api / mlflow models serve": ("api", "mlflow"),
        "api 2 processes / floor 2 processes": ("api_2_processes_scaling", "floor_2_processes_scaling"),
        "api 2 processes / api 1 process": ("api_2_processes_scaling", "api_scaling"),
        "floor 2 processes / floor 1 process": ("floor_2_processes_scaling", "floor_scaling"),
    }
    out: dict[str, dict[str, float]] = {}
    for label, (ours, theirs) in pairs.items():
        out[label] = {
            f"c{r['concurrency']}": round(
                r["requests_per_second"] / _rate(closed, theirs, r["concurrency"]), 3
            )
            for r in closed[ours]
        }
    return out


def cpu_ratios(closed: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """The floor's server CPU time per request over the API's, by concurrency: the share of the
    floor's throughput the API would reach with the same CPU (what a shared machine's load does
    to wall-clock throughput leaves this alone)."""
    pairs = {
        "api / floor": ("api", "floor"),
        "api, cache off / floor": ("api_no_cache", "floor_again"),
        "api batch / floor batch": ("api_batch", "floor_batch"),
        "api batch, cache off / floor batch": ("api_no_cache_batch", "floor_batch_again"),
        "api 2 processes / floor 2 processes": ("api_2_processes_scaling", "floor_2_processes_scaling"),
    }
    out: dict[str, dict[str, float]] = {}
    for label, (ours, theirs) in pairs.items():
        floor_cpu = {r["concurrency"]: r["server_cpu_us_per_request"] for r in closed[theirs]}
        out[label] = {
            f"c{r['concurrency']}": round(floor_cpu[r["concurrency"]] / r["server_cpu_us_per_request"], 3)
            for r in closed[ours]
            if r["server_cpu_us_per_request"] > 0
        }
    return out


def evaluate(results: dict[str, Any], rate: float) -> dict[str, Any]:
    closed, servers = results["closed_loop"], results["servers"]
    api = servers["api"]
    p99_c16 = next(r["p99_ms"] for r in closed["api"] if r["concurrency"] == 16)
    checks = {
        "throughput_ratio_c16": (_rate(closed, "api", 16) / _rate(closed, "mlflow", 16), ">="),
        "floor_ratio_c16": (_rate(closed, "api", 16) / _rate(closed, "floor", 16), ">="),
        "floor_cpu_ratio_c16": (_cpu(closed, "floor", 16) / _cpu(closed, "api", 16), ">="),
        "floor_ratio_c16_without_cache": (
            _rate(closed, "api_no_cache", 16) / _rate(closed, "floor_again", 16),
            ">=",
        ),
        "floor_cpu_ratio_c16_without_cache": (
            _cpu(closed, "floor_again", 16) / _cpu(closed, "api_no_cache", 16),
            ">=",
        ),
        "p99_ms_c16": (p99_c16, "<="),
        "two_process_speedup_c16": (
            _rate(closed, "api_2_processes_scaling", 16) / _rate(closed, "api_scaling", 16),
            ">=",
        ),
        "p99_ms_at_200rps": (api["open_loop"]["p99_ms"], "<="),
        "rss_mb": (api["rss_mb"]["serving_process_steady"], "<="),
        "ready_s": (api["ready_seconds"], "<="),
    }
    out: dict[str, Any] = {}
    for name, (value, op) in checks.items():
        target = TARGETS[name]
        met = value >= target if op == ">=" else value <= target
        out[name] = {"value": round(value, 2), "target": f"{op} {target:g}", "met": met}
    out["ready_cpu_s"] = {
        "value": api["ready_cpu_seconds"],
        "target": "(for information: CPU time to ready, start-up on an idle machine)",
        "met": None,
    }
    out["open_loop_rate"] = rate
    return out


NAMES = {
    "floor": "bare FastAPI (floor)",
    "api": "AstralytiQ API",
    "mlflow": "mlflow models serve",
    "floor_batch": "floor, batch",
    "api_batch": "AstralytiQ API, batch",
    "floor_scaling": "floor, 1 process",
    "api_scaling": "AstralytiQ API, 1 process",
    "floor_2_processes_scaling": "floor, 2 processes",
    "api_2_processes_scaling": "AstralytiQ API, 2 processes",
    "floor_again": "bare FastAPI (floor)",
    "api_no_cache": "AstralytiQ API, cache off",
    "floor_batch_again": "floor, batch",
    "api_no_cache_batch": "AstralytiQ API, cache off, batch",
}


def markdown(report: dict[str, Any]) -> str:
    model = report["model"]
    lines = [
        "# Serving benchmark",
        "",
        f"`{report['command']}` on {report['when']}; {report['machine']['cpus']} CPUs, load average "
        f"{report['machine']['load_average_before'][0]} before and {report['machine']['load_average_after'][0]} after. "
        "**The machine is shared with other sessions' work during the run**: absolute requests/s move with "
        "their load; the ratios of runs made one after the other (each API run just after its floor run) "
        "are what this benchmark reports. "
        f"Model: {model['name']} v{model['version']}, {model['series']} M4 Weekly series, "
        f"{model['bundle_mb']} MB bundle. Request: {model['request']} ({model['answer_bytes']['forecast']:,}-byte answer); "
        f"batch: {model['batch']} ({model['answer_bytes']['batch']:,} bytes). "
        f"API run from: {'the API image package set' if report['api_environment'] == 'image' else 'the dev venv'}. "
        f"Load generator: wrk, {report['duration_seconds']:g} s per run.",
        "",
        "| server | concurrency | req/s | p50 ms | p99 ms | errors | server CPU µs/request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, runs in report["results"]["closed_loop"].items():
        for r in runs:
            lines.append(
                f"| {NAMES.get(key, key)} | {r['concurrency']} | {r['requests_per_second']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['server_cpu_us_per_request']:.0f} |"
            )
    lines += ["", "| requests/s ratio | c1 | c16 | c64 |", "| --- | ---: | ---: | ---: |"]
    for label, by_c in report["ratios"].items():
        cells = [f"{by_c[c]:.2f}" if c in by_c else "" for c in ("c1", "c16", "c64")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += [
        "",
        "The same pairs by CPU time: the floor's server CPU per request over the API's (1.0: the API's "
        "work per request is the framework's alone).",
        "",
        "| CPU per request ratio | c1 | c16 | c64 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, by_c in report["cpu_ratios"].items():
        cells = [f"{by_c[c]:.2f}" if c in by_c else "" for c in ("c1", "c16", "c64")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += [
        "",
        f"| server | ready s | CPU s to ready | RSS steady MB | RSS peak MB | process tree MB | {report['targets']['open_loop_rate']:.0f} req/s p50 ms | p99 ms | max ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key in ("api", "api_no_cache", "mlflow"):
        r = report["results"]["servers"][key]
        o, m = r["open_loop"], r["rss_mb"]
        lines.append(
            f"| {NAMES[key]} | {r['ready_seconds']:.2f} | {r['ready_cpu_seconds']:.2f} | {m['serving_process_steady']} | {m['serving_process_peak']} | "
            f"{m['process_tree_after']} ({m['processes']}) | {o['p50_ms']:.2f} | {o['p99_ms']:.2f} | {o['max_ms']:.2f} | {o['errors']} |"
        )
    two = report["results"]["servers"]["api_2_processes"]
    cache = report["results"]["servers"]["api"]["series_from_cache"]
    total = cache["hit"] + cache["miss"]
    lines += [
        "",
        f"Two worker processes: resident {', '.join(f'{v} MB' for v in two['workers_rss_mb'])} "
        f"(supervisor and workers); their /metrics counted {two['series_from_cache']['hit']:.0f} cached and "
        f"{two['series_from_cache']['miss']:.0f} computed series over both workers.",
        "",
        f"The API answered {cache['hit'] / max(total, 1):.1%} of {total:.0f} series from its rendered-forecast cache "
        "(a version's forecasts never change; the cache goes with the version). With the cache off, "
        "every series is computed from the bundle on each request.",
    ]
    lines += ["", "| target | value | goal | met |", "| --- | ---: | --- | --- |"]
    for name, check in report["targets"].items():
        if isinstance(check, dict):
            met = {True: "yes", False: "**no**", None: "-"}[check["met"]]
            lines.append(f"| {name} | {check['value']} | {check['target']} | {met} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--series", type=int, default=1000, help="Series in the champion (M4 Weekly yields up to 1,167)."
    )
    parser.add_argument("--seconds", type=float, default=8, help="Length of each wrk run.")
    parser.add_argument("--rate", type=float, default=200, help="Requests per second of the open-loop run.")
    parser.add_argument("--rate-seconds", type=float, default=20, help="Length of the open-loop run.")
    parser.add_argument(
        "--api-env", choices=("image", "dev"), default="image",
        help="Run the API from the API image's packages (as deployed) or from this venv.",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", help="Keep everything in this folder (default: a temporary one, removed)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder (logs, databases).")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "serving.json", help="Where the JSON goes (.md beside it)."
    )
    args = parser.parse_args()
    if not 1 <= args.series <= 1167:
        parser.error("--series must be between 1 and 1167")
    report = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    say(f"results in {args.output} and {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
