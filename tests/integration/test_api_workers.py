"""The API with two worker processes (`astralytiq serve --workers 2`): /metrics sums every
worker whichever answers the scrape, and a moved alias reaches every worker (each with its own
render cache) within the watcher's interval."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support import BIN, free_port, start, stop, wait_http
from tests.support.factories import demo_variants, set_champion

MODEL = "workers_demo"
BODY = {"series_ids": ["ATL"], "horizon": 3, "levels": [80]}
METRICS_TOKEN = "m" * 40


@dataclass(frozen=True)
class Workers:
    url: str
    process: subprocess.Popen[bytes]
    headers: dict[str, str]
    versions: dict[str, str]

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        # uvicorn spawns its workers; the supervisor may also hold multiprocessing's resource tracker.
        return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode(errors="replace").partition("=")[::2] for p in pairs if b"=" in p)


@pytest.fixture(scope="module")
def workers(
    platform_env: Platform, trained_demo: TrainOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    from astralytiq import api_keys, audit
    from astralytiq.db import session_scope
    from astralytiq.settings import get_settings

    versions = demo_variants(platform_env.tracking_uri, MODEL)
    with session_scope(get_settings().app_database_url) as session:
        key = api_keys.issue(session, audit.Actor("tests", "system"), name="workers-tests").key
    port = free_port()
    process = start(
        [str(BIN / "astralytiq"), "serve", "--port", str(port)],
        tmp_path_factory.mktemp("api") / "api.log",
        {
            **platform_env.env,
            "ASTRALYTIQ_API_WORKERS": "2",  # the setting, as `make up` sets it
            "ASTRALYTIQ_ALIAS_POLL_SECONDS": "0.3",
            "ASTRALYTIQ_METRICS_TOKEN": METRICS_TOKEN,
            "ASTRALYTIQ_METRICS_PORT": "0",
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", 120, process)
        served = Workers(url, process, {"X-API-Key": key}, versions)
        deadline = time.monotonic() + 120
        while len(served.worker_pids()) < 2 or not all(
            _forecast(served)[0] == versions["x1"] for _ in range(6)
        ):
            assert time.monotonic() < deadline, "two workers serving the model never came up"
            time.sleep(0.3)
        yield served
    finally:
        stop(process)


def _forecast(server: Workers) -> tuple[str, float]:
    """A forecast over a connection of its own (so any worker may take it): (version, yhat)."""
    response = httpx.post(f"{server.url}/v1/models/{MODEL}/forecast", json=BODY, headers=server.headers)
    if response.status_code != 200:
        return f"status {response.status_code}", 0.0
    data = response.json()
    assert data["version"] == response.headers["X-Model-Version"]
    return data["version"], data["forecasts"][0]["points"][0]["yhat"]


def _served_total(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("astralytiq_forecasts_served_total{") and f'model="{MODEL}"' in line
    )


def test_two_worker_processes_serve_and_every_scrape_sums_them_all(workers: Workers) -> None:
    pids = workers.worker_pids()
    assert len(pids) == 2, pids
    folder = Path(_environ(pids[0])["PROMETHEUS_MULTIPROC_DIR"])
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    before = _served_total(httpx.get(f"{workers.url}/metrics", headers=scrape).text)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: _forecast(workers), range(96)))
    assert {version for version, _ in answers} == {workers.versions["x1"]}
    # Both workers answered (each writes its own counters), so a per-process count would differ
    # from scrape to scrape; summed, every scrape sees all 96.
    writers = {int(f.stem.rsplit("_", 1)[1]) for f in folder.glob("counter_*.db")}
    assert set(pids) <= writers, (pids, writers)
    for _ in range(8):
        text = httpx.get(f"{workers.url}/metrics", headers=scrape).text
        assert _served_total(text) - before == 96
        assert f'astralytiq_model_serving_info{{model="{MODEL}",run_id=' in text


def test_a_moved_alias_reaches_every_worker(platform_env: Platform, workers: Workers) -> None:
    first, second = workers.versions["x1"], workers.versions["x3"]
    yhat_first = _forecast(workers)[1]  # rendered and cached in whichever worker answered
    set_champion(platform_env.tracking_uri, MODEL, second)
    try:
        deadline = time.monotonic() + 30
        while True:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: _forecast(workers), range(24)))
            if {version for version, _ in answers} == {second}:
                break
            assert time.monotonic() < deadline, f"not every worker moved to v{second}: {answers}"
            time.sleep(0.3)
        # No worker answers from the old version's render cache.
        assert all(yhat == pytest.approx(3 * yhat_first) for _, yhat in answers)
    finally:
        set_champion(platform_env.tracking_uri, MODEL, first)


def test_zero_workers_means_one_per_core() -> None:
    from serving.__main__ import resolved_workers

    assert resolved_workers(0) == (os.cpu_count() or 1)
    assert resolved_workers(3) == 3
