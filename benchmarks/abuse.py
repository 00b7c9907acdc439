"""Heavy and hostile requests beside normal traffic: does the API keep answering?

    .venv/bin/python -m benchmarks.abuse        # about 6 minutes; writes benchmarks/results/abuse.*

Serves a 1,000-series champion (M4 Weekly, seasonal naive, as `benchmarks.serving` builds it)
with `astralytiq serve` and sends it normal traffic: the README's 10-series, 28-step forecast
request at a fixed rate, and liveness probes (`/healthz`), both open loop (each request timed
from its scheduled send). The peer is the same normal traffic with nothing else running, in the
same run. Then the abusive mix of issue 16 runs beside it from another process:

- 8 clients posting the largest batch the schema allows in shape (50 requests x 20 series x 10
  levels, with history), each reading the whole answer, again and again;
- 16 clients reading a drift report (a real Evidently report, several MB), again and again;
- 8 connections sending a 16 MB header and never finishing it;
- slow clients: headers a line a second, a body a byte a second, connections that say nothing.

Reported: normal forecast p99, `/healthz` p99, the API's resident memory (at start, peak during
the abuse, and one minute after it stopped), what the abusive clients got, and how long the
slow connections were held. The API process's memory is sampled every 0.25 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import OpenLoopResult, Target, open_loop
from benchmarks.serving import (
    BIN,
    HORIZON,
    LEVELS,
    MODEL,
    REPO,
    RESULTS,
    api_body,
    api_environment,
    free_port,
    m4_weekly_frame,
    production_api,
    register_champion,
    request_windows,
    rss_bytes,
    say,
    start_api,
    start_tracking_server,
    stop,
)

TARGETS = {"normal_p99_ms": 50.0, "healthz_p99_ms": 100.0, "peak_rss_mib": 160.0, "recovered_rss_ratio": 1.15}
BATCH_ITEMS, BATCH_SERIES, BATCH_LEVELS = 50, 20, 10
MIX = {"batch": 8, "drift_html": 16, "big_header": 8, "slow_header": 20, "slow_body": 20, "idle": 20}
BIG_HEADER_BYTES = 16 * 2**20


# --- the attacker (a separate process: its CPU is not the measuring process's) ----------------


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Status and body size of one response, reading (and dropping) the whole body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    size = 0
    if "content-length" in headers:
        remaining = int(headers["content-length"])
        while remaining:
            chunk = await reader.read(min(remaining, 2**20))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(chunk)
            size += len(chunk)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            length = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(length + 2)
            size += length
            if length == 0:
                break
    return status, size


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.bytes: dict[str, int] = {}
        self.held: dict[str, list[float]] = {}  # seconds each slow connection stayed open

    def count(self, kind: str, outcome: str) -> None:
        per = self.counts.setdefault(kind, {})
        per[outcome] = per.get(outcome, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        held = {
            kind: {
                "connections": len(values),
                "max_s": round(max(values), 1),
                "median_s": round(sorted(values)[len(values) // 2], 1),
            }
            for kind, values in self.held.items()
            if values
        }
        return {"answers": self.counts, "bytes_read": self.bytes, "held_open": held}


async def _repeat(kind: str, host: str, port: int, request: bytes, until: float, tally: Tally) -> None:
    """Send ``request`` again and again (keep-alive, a new connection after a close)."""
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            await writer.drain()
            status, size = await asyncio.wait_for(
                _read_answer(reader), timeout=max(1.0, until - time.monotonic())
            )
            tally.count(kind, str(status))
            tally.bytes[kind] = tally.bytes.get(kind, 0) + size
            if status >= 400:
                await asyncio.sleep(0.05)  # a refusal is cheap; do not spin on it
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.count(kind, exc.__class__.__name__)
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.05)
        except TimeoutError:
            break
    if writer is not None:
        writer.close()


async def _closed_by_server(reader: asyncio.StreamReader, until: float) -> bytes:
    """What the server said before closing, or b"" if it was still open at ``until``."""
    try:
        return await asyncio.wait_for(reader.read(), timeout=max(0.0, until - time.monotonic())) or b"closed"
    except TimeoutError:
        return b""
    except OSError:
        return b"reset"


def _outcome(answer: bytes) -> str:
    if not answer:
        return "still open at the end"
    if answer.startswith(b"HTTP/1.1 "):
        return answer[9:12].decode()
    return answer.decode()


async def _slow(
    kind: str, host: str, port: int, head: bytes, drip: bytes, until: float, tally: Tally
) -> None:
    """Send ``head``, then ``drip`` once a second, until the server closes or the run ends."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        tally.count(kind, f"connect {exc.__class__.__name__}")
        return
    closed = asyncio.ensure_future(_closed_by_server(reader, until))
    try:
        writer.write(head)
        while drip and not closed.done() and time.monotonic() < until:
            await asyncio.sleep(1.0)
            if not closed.done():
                writer.write(drip)
                await writer.drain()
    except OSError:
        pass
    answer = await closed
    tally.held.setdefault(kind, []).append(time.monotonic() - started)
    tally.count(kind, _outcome(answer))
    writer.close()


async def _big_header(host: str, port: int, until: float, tally: Tally) -> None:
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        tally.count("big_header", f"connect {exc.__class__.__name__}")
        return
    closed = asyncio.ensure_future(_closed_by_server(reader, until))
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Padding: ")
        chunk = b"a" * 65536
        for _ in range(BIG_HEADER_BYTES // len(chunk)):  # never finished: no CRLF CRLF
            if closed.done():
                break
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    answer = await closed
    tally.held.setdefault("big_header", []).append(time.monotonic() - started)
    tally.count("big_header", _outcome(answer))
    writer.close()


async def _attack(order: dict[str, Any]) -> dict[str, Any]:
    host, port, key, seconds = order["host"], order["port"], order["key"], order["seconds"]
    until = time.monotonic() + seconds
    tally = Tally()
    auth = f"Host: api\r\nX-API-Key: {key}\r\n"
    batch = order["batch_body"].encode()
    batch_request = (
        f"POST /v1/forecasts HTTP/1.1\r\n{auth}Content-Type: application/json\r\n"
        f"Content-Length: {len(batch)}\r\n\r\n"
    ).encode() + batch
    html_request = f"GET {order['drift_path']} HTTP/1.1\r\n{auth}\r\n".encode()
    forecast_head = (
        f"POST /v1/models/{MODEL}/forecast HTTP/1.1\r\n{auth}Content-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    mix = order["mix"]
    jobs = [_repeat("batch", host, port, batch_request, until, tally) for _ in range(mix["batch"])]
    jobs += [_repeat("drift_html", host, port, html_request, until, tally) for _ in range(mix["drift_html"])]
    jobs += [_big_header(host, port, until, tally) for _ in range(mix["big_header"])]
    jobs += [
        _slow("slow_header", host, port, b"GET /healthz HTTP/1.1\r\n", b"X-Slow: 1\r\n", until, tally)
        for _ in range(mix["slow_header"])
    ]
    jobs += [
        _slow("slow_body", host, port, forecast_head, b" ", until, tally) for _ in range(mix["slow_body"])
    ]
    jobs += [_slow("idle", host, port, b"", b"", until, tally) for _ in range(mix["idle"])]
    await asyncio.gather(*jobs)
    return tally.as_dict()


def attacker_main() -> None:
    order = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_attack(order))))


# --- the run ---------------------------------------------------------------------------------


def drift_report(data_dir: Path, database_url: str) -> int:
    """A real Evidently report of 24 M4 series (last 13 weeks against the year before), stored
    as the API's drift monitoring stores one; returns its id."""
    import pandas as pd

    from astralytiq.db import DriftReport, session_scope
    from monitoring.drift import compute_drift

    frame = m4_weekly_frame(24)
    cut = frame["ds"].max() - pd.Timedelta(weeks=13)
    reference = frame[(frame["ds"] <= cut) & (frame["ds"] > cut - pd.Timedelta(weeks=52))]
    current = frame[frame["ds"] > cut]
    result = compute_drift(reference, current, [], threshold=0.5)
    path = data_dir / "reports" / "abuse-benchmark.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.html, encoding="utf-8")
    w = result.windows
    with session_scope(database_url) as session:
        row = DriftReport(
            model_name=MODEL,
            model_version="1",
            reference_start=datetime(w.reference_start.year, w.reference_start.month, w.reference_start.day),
            reference_end=datetime(w.reference_end.year, w.reference_end.month, w.reference_end.day),
            current_start=datetime(w.current_start.year, w.current_start.month, w.current_start.day),
            current_end=datetime(w.current_end.year, w.current_end.month, w.current_end.day),
            drift_share=result.drift_share,
            dataset_drift=result.dataset_drift,
            features={
                k: {"score": v.score, "method": v.method, "drifted": v.drifted}
                for k, v in result.features.items()
            },
            report_path=str(path),
        )
        session.add(row)
        session.flush()
        return row.id


def batch_body(series_ids: list[str]) -> str:
    levels = [5.0 + 9.0 * i for i in range(BATCH_LEVELS)]  # 5, 14, ..., 86
    return json.dumps(
        {
            "requests": [
                {
                    "model": MODEL,
                    "series_ids": series_ids[i * BATCH_SERIES : (i + 1) * BATCH_SERIES],
                    "horizon": HORIZON,
                    "levels": levels,
                    "include_history": True,
                }
                for i in range(BATCH_ITEMS)
            ]
        }
    )


class MemorySampler:
    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.monotonic(), rss_bytes(self.pid)))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]


def normal_traffic(
    api_url: str, key: str, windows: list[list[str]], rate: float, healthz_rate: float, seconds: float
) -> tuple[OpenLoopResult, OpenLoopResult]:
    """The forecast requests and the liveness probes, both open loop, side by side."""
    forecast = Target(
        "forecast",
        f"{api_url}/v1/models/{MODEL}/forecast",
        {"Content-Type": "application/json", "X-API-Key": key},
        [api_body(w) for w in windows],
    )
    healthz = Target("healthz", f"{api_url}/healthz", {}, [b""], method="GET")
    results: dict[str, OpenLoopResult] = {}
    threads = [
        threading.Thread(target=lambda: results.__setitem__("forecast", open_loop(forecast, rate, seconds))),
        threading.Thread(
            target=lambda: results.__setitem__("healthz", open_loop(healthz, healthz_rate, seconds))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results["forecast"], results["healthz"]


def _mib(value: float) -> float:
    return round(value / 2**20, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="astralytiq-abuse-"))
    workdir.mkdir(parents=True, exist_ok=True)
    base_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    running: list[subprocess.Popen[bytes]] = []
    load_before = os.getloadavg()
    try:
        say(f"MLflow tracking server in {workdir}")
        tracking_uri = start_tracking_server(workdir, base_env, running)
        from registry.rest import NotFound, RegistryClient

        try:  # a --workdir kept from an earlier run already holds the champion
            version = RegistryClient(tracking_uri).version_by_alias(MODEL, "champion").version
            say(f"{MODEL} v{version} is already champion in {workdir}")
        except NotFound:
            say(f"training {args.series} M4 Weekly series (seasonal naive) and registering")
            version, _ = register_champion(tracking_uri, args.series)
        shutil.rmtree(workdir / "api-env", ignore_errors=True)  # this checkout's code, not a kept one's
        api_bin = api_environment(workdir, args.api_env)
        data_dir = workdir / "app"
        shutil.rmtree(data_dir, ignore_errors=True)  # a fresh app database every run
        app_env, key = production_api(api_bin, data_dir, tracking_uri, base_env, "abuse-benchmark")
        report_id = drift_report(data_dir, f"sqlite:///{data_dir / 'app.db'}")
        api = start_api("api", api_bin, workdir, app_env, free_port())
        running.append(api.process)
        pid = api.process.pid
        say(f"api ready in {api.ready_seconds:.2f}s")
        headers = {"X-API-Key": key}
        series_ids = httpx.get(f"{api.url}/v1/models/{MODEL}/series", headers=headers).json()
        windows = request_windows(series_ids)
        drift_path = f"/v1/models/{MODEL}/drift/{report_id}/html"
        report_bytes = len(httpx.get(f"{api.url}{drift_path}", headers=headers, timeout=60).content)
        body = batch_body(series_ids)
        say(f"drift report {report_bytes / 1e6:.1f} MB; abusive batch body {len(body) / 1e3:.1f} kB")

        with MemorySampler(pid) as memory:
            say(f"warm-up, then the peer: normal traffic alone for {args.seconds:.0f}s")
            normal_traffic(api.url, key, windows, args.rate, args.healthz_rate, 5)
            time.sleep(2)
            start_rss = rss_bytes(pid)
            quiet = normal_traffic(api.url, key, windows, args.rate, args.healthz_rate, args.seconds)

            say(f"normal traffic beside the abusive mix for {args.seconds:.0f}s: {args.mix}")
            order = {
                "host": "127.0.0.1",
                "port": int(api.url.rsplit(":", 1)[1]),
                "key": key,
                "seconds": args.seconds + 5,
                "batch_body": body,
                "drift_path": drift_path,
                "mix": args.mix,
            }
            attacker = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.abuse", "--attacker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
            )  # fmt: skip
            assert attacker.stdin is not None and attacker.stdout is not None
            attacker.stdin.write(json.dumps(order))
            attacker.stdin.close()
            abuse_started = time.monotonic()
            time.sleep(2)  # the attack under way before the measured traffic starts
            abused = normal_traffic(api.url, key, windows, args.rate, args.healthz_rate, args.seconds)
            stdout = attacker.stdout.read()
            attacker.wait(timeout=120)
            abuse_ended = time.monotonic()
            attack = json.loads(stdout)
            say(f"abuse over; watching memory for {args.recovery:.0f}s")
            time.sleep(args.recovery)
            recovered_rss = rss_bytes(pid)
            peak_rss = max(memory.between(abuse_started, abuse_ended), default=0)
        alive = httpx.get(f"{api.url}/healthz", timeout=5).status_code
    finally:
        for process in reversed(running):
            stop(process)
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    phases = {
        "normal_alone": {"forecast": quiet[0].as_dict(), "healthz": quiet[1].as_dict()},
        "beside_abuse": {"forecast": abused[0].as_dict(), "healthz": abused[1].as_dict()},
    }
    memory_mib = {
        "start": _mib(start_rss),
        "peak_during_abuse": _mib(peak_rss),
        "after_recovery": _mib(recovered_rss),
    }
    checks = {
        "normal_p99_ms": (abused[0].p99_ms, "<=", TARGETS["normal_p99_ms"]),
        "healthz_p99_ms": (abused[1].p99_ms, "<=", TARGETS["healthz_p99_ms"]),
        "peak_rss_mib": (memory_mib["peak_during_abuse"], "<=", TARGETS["peak_rss_mib"]),
        "recovered_rss_ratio": (recovered_rss / start_rss, "<=", TARGETS["recovered_rss_ratio"]),
    }
    return {
        "benchmark": "abuse",
        "command": "python -m benchmarks.abuse " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "model": {
            "name": MODEL,
            "version": version,
            "series": args.series,
            "horizon": HORIZON,
            "levels": LEVELS,
        },
        "api_environment": args.api_env,
        "normal_traffic": {
            "forecast_rate": args.rate,
            "healthz_rate": args.healthz_rate,
            "seconds": args.seconds,
        },
        "abusive_mix": {
            **args.mix,
            "batch_shape": f"{BATCH_ITEMS} x {BATCH_SERIES} series x {BATCH_LEVELS} levels, history",
            "batch_body_bytes": len(body),
            "drift_report_bytes": report_bytes,
        },
        "phases": phases,
        "attack": attack,
        "rss_mib": memory_mib,
        "alive_after": alive,
        "targets": {
            name: {"value": round(value, 2), "target": f"{op} {target:g}", "met": value <= target}
            for name, (value, op, target) in checks.items()
        },
    }


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        "# Abuse benchmark",
        "",
        f"`{report['command']}` on {report['when']}; {machine['cpus']} CPUs, load average "
        f"{machine['load_average_before'][0]} before and {machine['load_average_after'][0]} after "
        f"(other work shares this machine). Model: {report['model']['series']} M4 Weekly series. "
        f"Normal traffic: {report['normal_traffic']['forecast_rate']:g} forecast requests/s (10 series x "
        f"{report['model']['horizon']} steps) and {report['normal_traffic']['healthz_rate']:g} /healthz/s, "
        f"open loop, {report['normal_traffic']['seconds']:g} s per phase.",
        "",
        "| phase | forecast p50 ms | forecast p99 ms | forecast max ms | forecast errors | /healthz p50 ms | /healthz p99 ms | /healthz max ms | /healthz errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase, name in (
        ("normal_alone", "normal traffic alone (peer)"),
        ("beside_abuse", "beside the abusive mix"),
    ):
        f, h = report["phases"][phase]["forecast"], report["phases"][phase]["healthz"]
        lines.append(
            f"| {name} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | {f['max_ms']:.2f} | {f['errors']} | "
            f"{h['p50_ms']:.2f} | {h['p99_ms']:.2f} | {h['max_ms']:.2f} | {h['errors']} |"
        )
    mix = report["abusive_mix"]
    rss = report["rss_mib"]
    lines += [
        "",
        f"Abusive mix: {mix['batch']} batch clients ({mix['batch_shape']}, {mix['batch_body_bytes']:,}-byte body), "
        f"{mix['drift_html']} clients reading a {mix['drift_report_bytes'] / 1e6:.1f} MB drift report, "
        f"{mix['big_header']} unfinished 16 MB headers, {mix['slow_header']} slow headers, "
        f"{mix['slow_body']} slow bodies, {mix['idle']} silent connections.",
        "",
        "| abusive client | answers | bytes read | held open: max s (median) |",
        "| --- | --- | ---: | --- |",
    ]
    attack = report["attack"]
    for kind in ("batch", "drift_html", "big_header", "slow_header", "slow_body", "idle"):
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(attack["answers"].get(kind, {}).items()))
        held = attack["held_open"].get(kind)
        shown = f"{held['max_s']} ({held['median_s']})" if held else "-"
        lines.append(f"| {kind} | {answers} | {attack['bytes_read'].get(kind, 0):,} | {shown} |")
    lines += [
        "",
        f"API resident memory: {rss['start']} MiB at start, {rss['peak_during_abuse']} MiB peak during the abuse, "
        f"{rss['after_recovery']} MiB one minute after it ended; /healthz answered {report['alive_after']} after.",
        "",
        "| target | value | goal | met |",
        "| --- | ---: | --- | --- |",
    ]
    for name, check in report["targets"].items():
        lines.append(
            f"| {name} | {check['value']} | {check['target']} | {'yes' if check['met'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def _mix(text: str) -> dict[str, int]:
    mix = dict(MIX)
    for item in filter(None, text.split(",")):
        kind, _, count = item.partition("=")
        if kind not in MIX or not count.isdigit():
            raise argparse.ArgumentTypeError(f"{item!r}: give kind=count with a kind of {', '.join(MIX)}")
        mix[kind] = int(count)
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attacker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--series", type=int, default=1000, help="Series in the champion.")
    parser.add_argument("--seconds", type=float, default=60, help="Length of each phase.")
    parser.add_argument("--rate", type=float, default=50, help="Normal forecast requests per second.")
    parser.add_argument("--healthz-rate", type=float, default=10, help="Liveness probes per second.")
    parser.add_argument("--recovery", type=float, default=60, help="Seconds to watch memory after the abuse.")
    parser.add_argument(
        "--api-env", choices=("image", "dev"), default="image",
        help="Run the API from the API image's packages (as deployed) or from this venv.",
    )  # fmt: skip
    parser.add_argument("--workdir", help="Keep everything in this folder (default: a temporary one).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder (logs, databases).")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "abuse.json", help="Where the JSON goes (.md beside it)."
    )
    parser.add_argument(
        "--mix",
        type=_mix,
        default=dict(MIX),
        help="Clients of each abusive kind, e.g. batch=8,drift_html=0 (the rest as issue 16's mix).",
    )
    args = parser.parse_args()
    if args.attacker:
        attacker_main()
        return
    report = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    say(f"results in {args.output} and {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
