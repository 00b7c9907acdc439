"""Helpers the tests share: free ports, waiting for servers, starting real processes and tools.

The rest of tests/support/: factories (bundles, registered versions, training data), the API as a
process, the PostgreSQL address, the portal's stand-in, a TCP proxy to cut connections."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code < 500:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = exc.__class__.__name__
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout}s ({last})")


def start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
        cwd=REPO,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is missing: run `bash scripts/install_system_deps.sh` (Debian package prometheus)"
        )
    return path


def amtool() -> str:
    path = shutil.which("amtool")
    if path is None:
        pytest.fail(
            "amtool is missing: run `bash scripts/install_system_deps.sh` (Debian package "
            "prometheus-alertmanager)"
        )
    return path


def alertmanager() -> str:
    from monitoring.alerting import alertmanager_binary

    path = alertmanager_binary()
    if path is None:
        pytest.fail(
            "alertmanager is missing: run `bash scripts/install_system_deps.sh` (Debian package "
            "prometheus-alertmanager)"
        )
    return path


def operator_headers(data_dir: Path) -> dict[str, str]:
    """The metrics token of an API running (in development) on ``data_dir``, which keeps it there:
    /metrics and what /readyz serves are not for anonymous callers."""
    token = (data_dir / "metrics_token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}
