"""Graceful shutdown (SIGTERM with requests in flight: each completes or gets 503, the process
exits within its timeout) and registry writes from several processes at once (unique versions,
no server errors)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import Platform
from tests.support.api_process import api_process, prepare_database
from tests.support.factories import bundle, register, set_champion

SHUTDOWN_MODEL = "shutdown_model"
GRACE_SECONDS = 10  # uvicorn's timeout_graceful_shutdown in serving/__main__.py
DRAIN_SECONDS = 2  # ASTRALYTIQ_SHUTDOWN_DRAIN_SECONDS, the default
WRITERS, WRITES_EACH = 4, 3


def test_sigterm_lets_requests_in_flight_finish(platform_env: Platform, tmp_path: Path) -> None:
    version = register(
        platform_env.tracking_uri, SHUTDOWN_MODEL, bundle(SHUTDOWN_MODEL, series=400).to_json()
    )
    set_champion(platform_env.tracking_uri, SHUTDOWN_MODEL, version)
    prepare_database(tmp_path)
    # No rendered-forecast cache: each request does its full work, so some are in flight.
    with api_process(platform_env, tmp_path, {"ASTRALYTIQ_FORECAST_CACHE_MB": "0"}) as api:
        headers = api.token("admin", "admin-password-1")
        body = {"series_ids": [f"s{i}" for i in range(400)], "horizon": 7, "include_history": True}
        forecast = f"{api.url}/v1/models/{SHUTDOWN_MODEL}/forecast"
        assert httpx.post(forecast, json=body, headers=headers, timeout=30).status_code == 200
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()
        stop = threading.Event()

        def client() -> None:
            # Like a load balancer: sends until this instance says it is going (503) or is gone.
            while not stop.is_set():
                try:
                    # A new connection each time: a request the server accepted is in flight.
                    response = httpx.post(forecast, json=body, headers=headers, timeout=30)
                    outcome = str(response.status_code)
                except httpx.ConnectError:
                    outcome = "refused"  # never reached the server: not in flight
                except httpx.HTTPError as exc:
                    outcome = f"lost: {exc.__class__.__name__}"
                with lock:
                    outcomes[outcome] += 1
                if outcome != "200":
                    return

        threads = [threading.Thread(target=client) for _ in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        with lock:
            before = outcomes["200"]
        signalled = time.monotonic()
        os.killpg(api.process.pid, signal.SIGTERM)
        code = api.process.wait(GRACE_SECONDS + 10)
        exited_after = time.monotonic() - signalled
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(30)
    assert before > 5, outcomes  # requests were really flowing when the signal came
    assert exited_after < DRAIN_SECONDS + GRACE_SECONDS + 5, exited_after
    # uvicorn shuts down, then re-raises the signal it caught: exit by SIGTERM, after a clean stop.
    assert code in (0, -signal.SIGTERM), code
    log = api.log.read_text()
    assert "Waiting for application shutdown." in log and "Finished server process" in log, log[-2000:]
    assert set(outcomes) <= {"200", "503", "refused"}, outcomes
    assert outcomes["503"] >= 1, outcomes  # the drain answered, rather than dropping connections


def _register_versions(tracking_uri: str, model: str, count: int) -> list[tuple[int, str]]:
    """One writer process: creates ``count`` versions over MLflow's REST API, no client retries
    in between, so a server error would show as such."""
    found = []
    with httpx.Client(base_url=tracking_uri, timeout=60) as http:
        for n in range(count):
            response = http.post(
                "/api/2.0/mlflow/model-versions/create",
                json={
                    "name": model,
                    "source": f"s3://registry-writes-test/{os.getpid()}/{n}",
                },  # metadata only
            )
            version = (
                response.json().get("model_version", {}).get("version", "") if response.is_success else ""
            )
            found.append((response.status_code, str(version)))
    return found


def test_registry_writes_from_several_processes_get_unique_versions(platform_env: Platform) -> None:
    model = "concurrent_writes"
    created = httpx.post(
        f"{platform_env.tracking_uri}/api/2.0/mlflow/registered-models/create", json={"name": model}
    )
    assert created.status_code == 200, created.text
    uris, models, counts = [platform_env.tracking_uri] * WRITERS, [model] * WRITERS, [WRITES_EACH] * WRITERS
    with ProcessPoolExecutor(WRITERS) as pool:
        answers = [a for batch in pool.map(_register_versions, uris, models, counts) for a in batch]
    assert [status for status, _ in answers] == [200] * WRITERS * WRITES_EACH, answers
    versions = [int(v) for _, v in answers]
    assert sorted(versions) == list(range(1, WRITERS * WRITES_EACH + 1))  # unique, none skipped
