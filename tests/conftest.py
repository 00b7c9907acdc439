"""Shared fixtures: a real MLflow server, Prefect's test harness, a trained demo model, the API.

Nothing here is mocked: the MLflow tracking server, the Prefect API and the app database are
the real programs, started on loopback in a temporary folder for the test session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.outcomes import TrainOutcome
from tests.support import BIN, REPO, free_port, start, stop, wait_http


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
    port = free_port()
    logs = tmp_path_factory.mktemp("api")
    # The Prefect test harness's server, so GET /v1/pipelines/runs lists this session's real runs.
    env = {**platform_env.env, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    process = start([str(BIN / "astralytiq"), "serve", "--port", str(port)], logs / "api.log", env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", 60, process)
        yield url
    finally:
        stop(process)
