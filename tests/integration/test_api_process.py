"""The API as a real process (`astralytiq serve`), over real HTTP: huge bodies, alias flips under
load, and what the serving process imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support import BIN, REPO, free_port, start, stop, wait_http
from tests.support.factories import demo_variants, set_champion

MODEL = "flip_demo"
FIFTY_MB = 50 * 1024 * 1024
HEAVY = ("pandas", "numpy", "mlflow", "statsmodels", "prophet", "sklearn", "prefect", "cryptography")


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    headers: dict[str, str]
    versions: dict[str, str]


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident) of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


@pytest.fixture(scope="module")
def server(
    platform_env: Platform, trained_demo: TrainOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    from astralytiq import api_keys, audit
    from astralytiq.db import session_scope
    from astralytiq.settings import get_settings

    versions = demo_variants(platform_env.tracking_uri, MODEL)
    with session_scope(get_settings().app_database_url) as session:
        key = api_keys.issue(session, audit.Actor("tests", "system"), name="process-tests").key
    port = free_port()
    process = start(
        [str(BIN / "astralytiq"), "serve", "--port", str(port)],
        tmp_path_factory.mktemp("api") / "api.log",
        {**platform_env.env, "ASTRALYTIQ_ALIAS_POLL_SECONDS": "0.3"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", 120, process)
        yield Server(url, process, {"X-API-Key": key}, versions)
    finally:
        stop(process)


def test_fifty_megabytes_without_a_length_is_413_without_a_memory_spike(server: Server) -> None:
    before = memory(server.process.pid)

    def body() -> Iterator[bytes]:
        yield b'{"series_ids": ["'
        chunk = b"A" * (1024 * 1024)
        for _ in range(50):
            yield chunk
        yield b'"], "horizon": 1}'

    response = httpx.post(
        f"{server.url}/v1/models/nyc_flights/forecast",
        content=body(),  # chunked: no Content-Length to trust
        headers={**server.headers, "content-type": "application/json"},
        timeout=60,
    )
    after = memory(server.process.pid)
    assert response.status_code == 413, response.text
    assert "request body over 1000000 bytes" in response.json()["detail"]
    # Counting, not buffering: the peak resident size moves by far less than the body.
    assert after["VmHWM"] - before["VmHWM"] < 8 * 1024 * 1024, (before, after)


def test_a_declared_fifty_megabytes_is_refused_before_reading(server: Server) -> None:
    def body() -> Iterator[bytes]:
        chunk = b" " * (1024 * 1024)
        for _ in range(50):
            yield chunk

    response = httpx.post(
        f"{server.url}/v1/models/nyc_flights/forecast",
        content=body(),
        headers={**server.headers, "content-type": "application/json", "content-length": str(FIFTY_MB)},
        timeout=60,
    )
    assert response.status_code == 413 and "ASTRALYTIQ_MAX_REQUEST_BYTES" in response.text


def test_malformed_json_over_http_is_a_4xx_that_says_why(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/v1/models/nyc_flights/forecast",
        content=b'{"series_ids": ["ATL"], "horizon": ',
        headers={**server.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422 and "JSON decode error" in response.text


def test_every_response_is_whole_while_the_alias_flips(platform_env: Platform, server: Server) -> None:
    """Flip the champion between two versions under a stream of requests: no failure, and every
    answer comes entirely from one version (its header, its body and its numbers agree)."""
    first, second = server.versions["x1"], server.versions["x3"]
    stop_flipping = threading.Event()

    def flip() -> None:
        current = first
        while not stop_flipping.wait(0.7):
            current = second if current == first else first
            set_champion(platform_env.tracking_uri, MODEL, current)

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    seen: dict[str, float] = {}
    failures: list[str] = []
    deadline = time.monotonic() + 8
    body = {"series_ids": ["ATL"], "horizon": 1, "levels": [80]}
    try:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=10) as client:
            while time.monotonic() < deadline:
                response = client.post(f"/v1/models/{MODEL}/forecast", json=body)
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                version = response.headers["X-Model-Version"]
                data = response.json()
                assert data["version"] == version and version in (first, second)
                seen.setdefault(version, data["forecasts"][0]["points"][0]["yhat"])
                assert data["forecasts"][0]["points"][0]["yhat"] == seen[version]
    finally:
        stop_flipping.set()
        flipper.join()
        set_champion(platform_env.tracking_uri, MODEL, first)
    assert failures == []
    assert set(seen) == {first, second}, "the flips were not picked up"
    assert seen[second] == pytest.approx(3 * seen[first])


def test_the_server_process_maps_no_numpy_or_pandas(server: Server) -> None:
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "numpy" not in maps and "pandas" not in maps


SERVE_AND_LIST_MODULES = """
import json, sys
from fastapi.testclient import TestClient
from astralytiq.settings import get_settings
from serving.app import create_app
with TestClient(create_app(get_settings())) as client:
    token = get_settings().metrics_bearer()
    ready = client.get("/readyz", headers={"Authorization": f"Bearer {token}"}).json()
    assert ready["models"], ready
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
print(json.dumps({"heavy": heavy, "models": ready["models"]}))
"""


def test_the_serving_path_imports_no_pandas_numpy_or_mlflow(platform_env: Platform, server: Server) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_MODULES, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env={**os.environ, **platform_env.env},
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "nyc_flights" in report["models"]
    assert report["heavy"] == []
