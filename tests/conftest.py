"""Every shared fixture: a real MLflow server, Prefect's test harness, a trained demo model, the
API in-process and as a process, a PostgreSQL database; and the rule that a test's folder is its
marker (unit, integration, e2e, security, reliability).

Nothing here is mocked: the MLflow tracking server, the Prefect API, PostgreSQL and the app
database are the real programs, started on loopback in a temporary folder for the test session.
Helpers that are not fixtures live in tests/support/ (processes and ports, bundle and registry
factories, the API as a process, the PostgreSQL address, the portal's stand-in).
"""

from __future__ import annotations

import os
import time

# One OpenMP thread in the test process, set before anything loads scikit-learn's OpenMP runtime:
# the engine's worker processes run that way (models/parallel.py), and a boosted-trees fit made
# inline here otherwise spins a second thread against the other tests' processes (a 30 s fit
# took 460 s on the loaded 2-core machine).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.outcomes import TrainOutcome
from tests.support import BIN, REPO, free_port, operator_headers, start, stop, wait_http
from tests.support.api_process import served_api
from tests.support.postgres import PostgresDatabase
from tests.support.postgres import postgres_database as create_postgres_database

TESTS = Path(__file__).parent


@dataclass(frozen=True)
class Platform:
    data_dir: Path
    tracking_uri: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    process = start(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        root / "server.log",
        {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{uri}/health", 180, process)
        yield uri
    finally:
        stop(process)


@pytest.fixture(scope="session")
def platform_env(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Platform]:
    """Settings for the whole session: a temporary data folder and the real MLflow server."""
    from astralytiq.db import upgrade_database
    from astralytiq.settings import get_settings

    data_dir = tmp_path_factory.mktemp("data")
    env = {
        "ASTRALYTIQ_DATA_DIR": str(data_dir),
        "ASTRALYTIQ_DATASETS_DIR": str(REPO / "datasets"),
        "ASTRALYTIQ_MLFLOW_TRACKING_URI": mlflow_server,
        "ASTRALYTIQ_ALIAS_POLL_SECONDS": "0.5",
        "ASTRALYTIQ_TRAIN_JOBS": "2",
        "GX_ANALYTICS_ENABLED": "False",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        upgrade_database(get_settings().app_database_url)
        yield Platform(data_dir, mlflow_server, env)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def trained_demo(platform_env: Platform, prefect_harness: None) -> TrainOutcome:
    """The demo dataset trained once through the real training flow and registered in MLflow."""
    from flows.train import train_flow

    return train_flow(dataset="nyc_flights", n_jobs=2)


@pytest.fixture(scope="session")
def admin_credentials(platform_env: Platform) -> tuple[str, str]:
    from astralytiq.accounts import create_user
    from astralytiq.settings import get_settings

    create_user(get_settings().app_database_url, "admin", "admin-password-1", "admin")
    create_user(get_settings().app_database_url, "viewer", "viewer-password-1", "viewer")
    return "admin", "admin-password-1"


@pytest.fixture(scope="session")
def engineer_credentials(platform_env: Platform) -> tuple[str, str]:
    from astralytiq.accounts import create_user
    from astralytiq.settings import get_settings

    create_user(get_settings().app_database_url, "engineer", "engineer-password-1", "engineer")
    return "engineer", "engineer-password-1"


@pytest.fixture(scope="session")
def api_server(
    platform_env: Platform,
    prefect_harness: None,
    trained_demo: TrainOutcome,
    admin_credentials: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The API as a real process (`astralytiq serve`) on a free port, with a drift check stored
    so the portal's health page has a report to show, and the Prefect harness's server as its
    Prefect API. Shared by the portal and browser tests."""
    from prefect.settings import PREFECT_API_URL

    from flows.monitor import monitor_flow

    monitor_flow(dataset="nyc_flights")
    # The Prefect test harness's server, so GET /v1/pipelines/runs lists this session's real runs.
    prefect = {"PREFECT_API_URL": str(PREFECT_API_URL.value())}
    with served_api(platform_env, tmp_path_factory.mktemp("api"), prefect) as url:
        yield url


@pytest.fixture(scope="module")
def api(platform_env: Platform, admin_credentials: tuple[str, str]) -> Iterator[TestClient]:
    """The API in-process (TestClient, lifespan included) on the session's platform."""
    from astralytiq.settings import get_settings
    from serving.app import create_app

    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def client(api: TestClient, trained_demo: TrainOutcome, platform_env: Platform) -> TestClient:
    """The API once it serves the trained demo (loaded at start, or by the alias watcher). What
    /readyz serves is for the metrics token only, so the wait asks with it."""
    operator = operator_headers(platform_env.data_dir)
    deadline = time.monotonic() + 60
    while (
        api.get("/readyz", headers=operator).json().get("models", {}).get("nyc_flights")
        != trained_demo.version
    ):
        assert time.monotonic() < deadline, api.get("/readyz", headers=operator).json()
        time.sleep(0.2)
    return api


@pytest.fixture(scope="module")
def admin(api: TestClient, admin_credentials: tuple[str, str]) -> dict[str, str]:
    """An admin's bearer header, from a real login."""
    username, password = admin_credentials
    response = api.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def postgres_database() -> Iterator[PostgresDatabase]:
    """A fresh database on the test PostgreSQL (tests/support/postgres.py), dropped afterwards."""
    with create_postgres_database() as database:
        yield database


# ---- a test's folder is its marker ------------------------------------------------------------

FOLDERS = ("unit", "integration", "e2e", "security", "reliability")
# A unit test runs without servers: one asking for these belongs under tests/integration/.
SERVER_FIXTURES = frozenset(
    {"mlflow_server", "platform_env", "prefect_harness", "trained_demo", "api_server", "api", "client"}
    | {"postgres_database"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    misplaced = []
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder not in FOLDERS:
            misplaced.append(f"{item.nodeid}: tests live in tests/<{'|'.join(FOLDERS)}>/")
            continue
        declared = {mark.name for mark in item.iter_markers()} & set(FOLDERS) - {folder}
        if declared:
            misplaced.append(f"{item.nodeid} is marked {sorted(declared)} but lives in tests/{folder}/")
        needs = sorted(SERVER_FIXTURES & set(getattr(item, "fixturenames", ())))
        if folder == "unit" and needs:
            misplaced.append(f"{item.nodeid} uses {', '.join(needs)}: a real server, so tests/integration/")
        item.add_marker(getattr(pytest.mark, folder))
    if misplaced:
        raise pytest.UsageError("tests out of place:\n  " + "\n  ".join(misplaced))
