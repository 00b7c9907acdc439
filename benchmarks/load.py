"""Load generators for the serving benchmark: wrk (closed loop) and a fixed-rate open loop.

wrk (Debian's, in C) drives a server at a fixed concurrency and measures its throughput; a
Python generator at that concurrency would saturate the 2 cores itself. The fixed-rate mode
sends on a schedule whether or not earlier answers came back (open loop), and times each
request from its scheduled send, so a stalled server cannot hide its queueing delay.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

KEEPALIVE_EXPIRY = 4.0  # seconds an idle connection is reused


@dataclass(frozen=True)
class Target:
    """One server under test: where to POST, what headers, and the request bodies to rotate."""

    name: str
    url: str
    headers: dict[str, str]
    bodies: list[bytes]
    method: str = "POST"  # the open loop also sends GET (an empty body); wrk always POSTs


@dataclass(frozen=True)
class ClosedLoopResult:
    concurrency: int
    seconds: float
    requests: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int  # non-2xx answers plus socket errors and timeouts

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpenLoopResult:
    rate: float
    seconds: float
    sent: int
    completed: int
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    connections: int
    error_kinds: dict[str, int]  # "unsent: all connections busy", "status 503", "ConnectionResetError"...

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is missing: run `bash scripts/install_system_deps.sh` (installs Debian's wrk)")
    return found


def _lua_script(target: Target) -> str:
    # Long brackets of level 1 ([=[ ... ]=]) hold any JSON body verbatim.
    bodies = ",\n".join(f"[=[{body.decode()}]=]" for body in target.bodies)
    headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in target.headers.items())
    return f"""wrk.method = "POST"
{headers}
local bodies = {{
{bodies}
}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, concurrency: int, seconds: float) -> ClosedLoopResult:
    percentiles = {int(p): _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.MULTILINE)}
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return ClosedLoopResult(
        concurrency, seconds, requests, rate, percentiles[50], percentiles[90], percentiles[99], errors
    )


def closed_loop(target: Target, concurrency: int, seconds: float) -> ClosedLoopResult:
    """wrk at ``concurrency`` connections for ``seconds``, rotating over the target's bodies."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua_script(target))
    try:
        output = subprocess.run(
            [
                wrk_binary(),
                f"-t{min(concurrency, 2)}",
                f"-c{concurrency}",
                f"-d{seconds:.0f}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                script.name,
                target.url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        Path(script.name).unlink()
    return parse_wrk(output, concurrency, seconds)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _open_loop(target: Target, rate: float, seconds: float, max_connections: int) -> OpenLoopResult:
    url = urlparse(target.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    # Idle connections with the time they were last used; like an HTTP client's pool, one idle
    # longer than the servers' keep-alive (uvicorn: 5 s) is closed, never sent on.
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
    opened = 0
    latencies: list[float] = []
    kinds: dict[str, int] = {}

    def failed(kind: str) -> None:
        kinds[kind] = kinds.get(kind, 0) + 1

    prefix = (
        f"{target.method} {url.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in target.headers.items())
    ).encode()

    async def one(index: int, scheduled: float) -> None:
        nonlocal opened
        body = target.bodies[index % len(target.bodies)]
        while idle and time.perf_counter() - idle[-1][2] > KEEPALIVE_EXPIRY:
            idle.pop()[1].close()
            opened -= 1
        if idle:
            reader, writer, _ = idle.pop()
        elif opened < max_connections:
            opened += 1
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as exc:
                opened -= 1
                failed(f"connect: {exc.__class__.__name__}")
                return
        else:
            failed(f"unsent: all {max_connections} connections busy")  # counted, not hidden
            return
        try:
            writer.write(prefix + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            opened -= 1
            failed(exc.__class__.__name__)
            writer.close()
            return
        latencies.append(time.perf_counter() - scheduled)
        if status >= 300:
            failed(f"status {status}")
        idle.append((reader, writer, time.perf_counter()))

    loop_start = time.perf_counter() + 0.05
    count = int(rate * seconds)
    tasks = []
    for index in range(count):
        scheduled = loop_start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, scheduled)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    elapsed = time.perf_counter() - loop_start
    for _, writer, _ in idle:
        writer.close()
    ordered = sorted(latencies) or [float("nan")]
    return OpenLoopResult(
        rate=rate,
        seconds=seconds,
        sent=count,
        completed=len(latencies),
        achieved_rate=len(latencies) / elapsed,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        max_ms=ordered[-1] * 1000,
        errors=sum(kinds.values()),
        connections=opened,
        error_kinds=kinds,
    )


def _run_open_loop(target: Target, rate: float, seconds: float, max_connections: int) -> OpenLoopResult:
    try:
        import uvloop
    except ImportError:  # the plain asyncio loop is slower but still schedules honestly
        return asyncio.run(_open_loop(target, rate, seconds, max_connections))
    return uvloop.run(_open_loop(target, rate, seconds, max_connections))


def open_loop(target: Target, rate: float, seconds: float, max_connections: int = 256) -> OpenLoopResult:
    """Requests at a fixed ``rate`` for ``seconds``; latency counted from each scheduled send.

    Runs in a fresh process (`python -m benchmarks.load`) with garbage collection off: a pause
    of the generator would be counted as the server's latency, and the process that trained
    the model carries a heap whose full collection takes a tenth of a second.
    """
    order: dict[str, Any] = {
        "target": asdict(target) | {"bodies": [b.decode() for b in target.bodies]},
        "rate": rate,
        "seconds": seconds,
        "max_connections": max_connections,
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load"],
        input=json.dumps(order),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 180,
    )
    return OpenLoopResult(**json.loads(done.stdout))


def main() -> None:
    order = json.loads(sys.stdin.read())
    spec = order["target"]
    target = Target(
        spec["name"], spec["url"], spec["headers"], [b.encode() for b in spec["bodies"]], spec["method"]
    )
    gc.disable()
    result = _run_open_loop(target, order["rate"], order["seconds"], order["max_connections"])
    print(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main()
