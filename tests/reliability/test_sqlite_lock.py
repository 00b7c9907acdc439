"""The embedded SQLite app database: WAL and a busy timeout on every connection; a writer that
stays locked out past the timeout answers 503 with Retry-After, the client retries, and every
write lands exactly once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import Platform
from tests.support.api_process import prepare_database

BUSY_TIMEOUT_MS = 5000


@pytest.fixture
def api(platform_env: Platform, tmp_path: Path) -> Iterator[TestClient]:
    from astralytiq.settings import Settings
    from serving.app import create_app

    prepare_database(tmp_path)
    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri=platform_env.tracking_uri)
    with TestClient(create_app(settings)) as client:
        yield client


def test_every_connection_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    from astralytiq.db import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
    engine.dispose()


def _hold_write_lock(database: Path, seconds: float, locked: threading.Event) -> None:
    """Another process's long write transaction, as a flow writing drift results might hold."""
    connection = sqlite3.connect(database, timeout=0)
    connection.execute("BEGIN IMMEDIATE")
    locked.set()
    time.sleep(seconds)
    connection.rollback()
    connection.close()


def test_a_locked_out_writer_gets_503_and_a_retry_loses_nothing(api: TestClient, tmp_path: Path) -> None:
    token = api.post("/v1/auth/token", data={"username": "admin", "password": "admin-password-1"})
    admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(tmp_path / "app.db", 7.0, locked))
    holder.start()
    assert locked.wait(5)

    statuses: list[int] = []

    def create_with_retries(name: str) -> int:
        """A well-behaved client: on 503 it waits for Retry-After and tries again."""
        for _ in range(20):
            response = api.post("/v1/admin/api-keys", json={"name": name}, headers=admin)
            statuses.append(response.status_code)
            if response.status_code != 503:
                return response.status_code
            assert "app database is busy" in response.json()["detail"]
            time.sleep(float(response.headers["retry-after"]))
        return 503

    names = [f"locked-out-{n}" for n in range(3)]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(create_with_retries, names))
    holder.join()
    assert results == [201, 201, 201]
    assert 503 in statuses  # the lock really outlasted the busy timeout
    assert set(statuses) <= {201, 503}  # never a 500
    listed = [k["name"] for k in api.get("/v1/admin/api-keys", headers=admin).json()]
    assert sorted(n for n in listed if n.startswith("locked-out-")) == names  # each exactly once
