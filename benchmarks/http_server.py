"""Which HTTP server protocol the API runs: limits it enforces and what they cost, one run.

    .venv/bin/python -m benchmarks.http_server     # about 3 minutes; writes benchmarks/results/http_server.*

The same app (`serving.app:create_app`, one 200-series champion) served by uvicorn three ways:
its default httptools protocol (the peer), that protocol with this repository's limits
(`serving.http_protocol.LimitedHttpToolsProtocol`, what `python -m serving` runs), and uvicorn's
pure-Python h11 protocol with its header cap (`h11_max_incomplete_event_size`). Each gets the
README's 10-series, 28-step forecast request from wrk at concurrency 16, and four probes: a
64 KiB header, a 16 MB header never finished, headers a line a second, a body a byte a second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import Target, closed_loop
from benchmarks.serving import (
    BIN,
    MODEL,
    REPO,
    RESULTS,
    api_body,
    free_port,
    register_champion,
    request_windows,
    say,
    start,
    start_tracking_server,
    stop,
    wait_ready,
)

SERVERS = {
    "httptools (uvicorn's default, the peer)": "httptools",
    "httptools with serving.http_protocol limits": "serving.http_protocol:LimitedHttpToolsProtocol",
    "h11 with its header cap": "h11",
}
PROBE_SECONDS = 15.0
SERVE = """
import sys, uvicorn
http = sys.argv[2]
if ":" in http:
    module, name = http.split(":")
    http = getattr(__import__(module, fromlist=[name]), name)
uvicorn.run("serving.app:create_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]), http=http,
            log_level="warning", ws="none", proxy_headers=False, h11_max_incomplete_event_size=32 * 1024)
"""


def _probe(port: int, head: bytes, drip: bytes, total: int = 0) -> dict[str, Any]:
    """Send ``head`` (then ``total`` bytes of it in blocks, or ``drip`` each second) and report
    what the server answered and when it closed (or that it was still open after the probe)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=PROBE_SECONDS)
    started, sent = time.monotonic(), 0
    sock.settimeout(0.05)
    reply = b""
    try:
        sock.sendall(head)
        while time.monotonic() - started < PROBE_SECONDS:
            if total and sent < total:
                sock.sendall(b"a" * 65536)
                sent += 65536
            elif drip:
                sock.sendall(drip)
                time.sleep(1.0)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            reply += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    held = time.monotonic() - started
    return {
        "answer": reply[:12].decode(errors="replace").strip() or "(none)",
        "closed_after_s": round(held, 1) if held < PROBE_SECONDS else None,
        "bytes_sent": sent,
    }


def measure(
    name: str, protocol: str, workdir: Path, env: dict[str, str], key: str, seconds: float
) -> dict[str, Any]:
    port = free_port()
    process = start(
        [str(BIN / "python"), "-c", SERVE, str(port), protocol], workdir / f"{protocol[:8]}.log", env
    )
    try:
        url = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": key}
        wait_ready(f"{url}/healthz", process, lambda r: r.status_code == 200, 120)
        series = httpx.get(f"{url}/v1/models/{MODEL}/series", headers=headers, timeout=30).json()
        target = Target(
            name, f"{url}/v1/models/{MODEL}/forecast", {"Content-Type": "application/json", **headers},
            [api_body(w) for w in request_windows(series)],
        )  # fmt: skip
        closed_loop(target, 16, 3)  # warm-up
        load = closed_loop(target, 16, seconds)
        say(f"{name}: {load.requests_per_second:.0f} req/s, p99 {load.p99_ms:.1f} ms")
        probes = {
            "64 KiB header": _probe(
                port, b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n", b""
            ),
            "16 MB header, never finished": _probe(
                port, b"GET /healthz HTTP/1.1\r\nX-Big: ", b"", 16 * 2**20
            ),
            "headers, a line a second": _probe(port, b"GET /healthz HTTP/1.1\r\n", b"X-Slow: 1\r\n"),
            "body, a byte a second": _probe(
                port,
                b"POST /v1/auth/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100\r\n\r\nu",
                b"u",
            ),
        }
        return {"protocol": protocol, "closed_loop_c16": load.as_dict(), "probes": probes}
    finally:
        stop(process)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# HTTP server protocol",
        "",
        f"`{report['command']}` on {report['when']}; load average {report['load_average_before'][0]} before, "
        f"{report['load_average_after'][0]} after (a shared 2-core machine). Header deadline "
        f"{report['limits']['header_timeout_s']} s, body deadline {report['limits']['body_timeout_s']} s, "
        f"header cap {report['limits']['max_header_bytes']} bytes; probes last {PROBE_SECONDS:g} s.",
        "",
        "| server | req/s at c16 | p99 ms | 64 KiB header | 16 MB header (bytes read) | slow headers | slow body |",
        "| --- | ---: | ---: | --- | --- | --- | --- |",
    ]

    def shown(probe: dict[str, Any]) -> str:
        closed = probe["closed_after_s"]
        return f"{probe['answer']}, " + (f"closed at {closed} s" if closed is not None else "still open")

    for name, result in report["servers"].items():
        load, probes = result["closed_loop_c16"], result["probes"]
        big = probes["16 MB header, never finished"]
        lines.append(
            f"| {name} | {load['requests_per_second']:.0f} | {load['p99_ms']:.1f} | {shown(probes['64 KiB header'])} | "
            f"{shown(big)} ({big['bytes_sent'] / 2**20:.1f} MiB sent) | {shown(probes['headers, a line a second'])} | "
            f"{shown(probes['body, a byte a second'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15, help="Length of each wrk run.")
    parser.add_argument("--output", type=Path, default=RESULTS / "http_server.json")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="astralytiq-http-"))
    base = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    running: list[subprocess.Popen[bytes]] = []
    before = os.getloadavg()
    limits = {"header_timeout_s": 5.0, "body_timeout_s": 5.0, "max_header_bytes": 32 * 1024}
    try:
        tracking_uri = start_tracking_server(workdir, base, running)
        register_champion(tracking_uri, 200)
        env = {
            **base,
            "ASTRALYTIQ_DATA_DIR": str(workdir / "app"),
            "ASTRALYTIQ_MLFLOW_TRACKING_URI": tracking_uri,
            "ASTRALYTIQ_HTTP_HEADER_TIMEOUT_SECONDS": str(limits["header_timeout_s"]),
            "ASTRALYTIQ_HTTP_BODY_TIMEOUT_SECONDS": str(limits["body_timeout_s"]),
            "ASTRALYTIQ_HTTP_MAX_HEADER_BYTES": str(limits["max_header_bytes"]),
        }
        subprocess.run(
            [str(BIN / "astralytiq"), "db", "upgrade"], env=env, check=True, capture_output=True, cwd=REPO
        )
        key = subprocess.run(
            [str(BIN / "astralytiq"), "keys", "create", "http-bench", "--model", MODEL],
            env=env, check=True, capture_output=True, text=True, cwd=REPO,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        servers = {
            name: measure(name, protocol, workdir, env, key, args.seconds)
            for name, protocol in SERVERS.items()
        }
    finally:
        for process in running:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "benchmark": "http_server",
        "command": "python -m benchmarks.http_server " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": [round(v, 2) for v in before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "limits": limits,
        "servers": servers,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
