"""Promotion under load: the champion alias flips every few seconds (through the API and straight
in MLflow) while clients forecast without pause: no request fails, and every answer is wholly
the old or the new version (the header and the numbers agree)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Platform
from tests.support.api_process import ApiProcess, api_process, prepare_database
from tests.support.factories import bundle, register, set_champion

MODEL = "flip_under_load"
LOAD_SECONDS = float(os.environ.get("ASTRALYTIQ_RELIABILITY_LOAD_SECONDS", "60"))
FLIP_EVERY = 3.0
CLIENTS = 4
MEANS = {"a": 10.0, "b": 20.0}  # each version's forecast of series s0: tells which one answered


@pytest.fixture(scope="module")
def versions(platform_env: Platform) -> dict[str, str]:
    found = {
        label: register(platform_env.tracking_uri, MODEL, bundle(MODEL, series=50, mean=mean).to_json())
        for label, mean in MEANS.items()
    }
    set_champion(platform_env.tracking_uri, MODEL, found["a"])
    return found


@pytest.fixture(scope="module")
def served(
    platform_env: Platform, versions: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    data_dir: Path = tmp_path_factory.mktemp("under-load")
    prepare_database(data_dir)
    with api_process(platform_env, data_dir, {"ASTRALYTIQ_ALIAS_POLL_SECONDS": "0.5"}) as api:
        yield api


def test_flipping_the_champion_under_load_fails_no_request(
    platform_env: Platform, served: ApiProcess, versions: dict[str, str]
) -> None:
    admin = served.token("admin", "admin-password-1")
    mean_of = {versions[label]: mean for label, mean in MEANS.items()}
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    problems: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        body = {"series_ids": ["s0", "s1"], "horizon": 3}
        with httpx.Client(base_url=served.url, headers=admin, timeout=30) as http:
            while not stop.is_set():
                try:
                    response = http.post(f"/v1/models/{MODEL}/forecast", json=body)
                except httpx.HTTPError as exc:
                    with lock:
                        outcomes[exc.__class__.__name__] += 1
                    continue
                version = response.headers.get("X-Model-Version", "")
                with lock:
                    outcomes[str(response.status_code)] += 1
                    seen[version] += 1
                    if response.status_code != 200:
                        problems.append(f"{response.status_code}: {response.text[:200]}")
                    elif version not in mean_of:
                        problems.append(f"answered by unexpected version {version!r}")
                    else:
                        yhat = response.json()["forecasts"][0]["points"][0]["yhat"]
                        if yhat != mean_of[version]:  # a header from one version, numbers from another
                            problems.append(f"v{version} header with yhat {yhat}")

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    flips = 0
    deadline = time.monotonic() + LOAD_SECONDS
    with httpx.Client(base_url=served.url, headers=admin, timeout=60) as http:
        while time.monotonic() < deadline:
            time.sleep(FLIP_EVERY)
            target = versions["b"] if flips % 2 == 0 else versions["a"]
            if flips % 4 < 2:  # half the flips through the API's promotion, half straight in MLflow
                response = http.post(
                    f"/v1/models/{MODEL}/promote", json={"version": target, "reason": "load test"}
                )
                assert response.status_code == 200, response.text
            else:
                set_champion(platform_env.tracking_uri, MODEL, target)
            flips += 1
    stop.set()
    for thread in threads:
        thread.join(30)
    total = sum(outcomes.values())
    assert flips >= 3 and total > 100, (flips, outcomes)
    assert outcomes == Counter({"200": total}), outcomes
    assert not problems, problems[:10]
    assert set(seen) == set(versions.values()), seen  # both versions really answered
