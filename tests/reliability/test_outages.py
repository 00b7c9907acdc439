"""The app database or MLflow going away and coming back: the API keeps serving the champion it
has loaded, /readyz names the fault, and it recovers by itself, without a restart.

Each dependency is reached through a loopback TCP forwarder (tcp_proxy) that the test cuts
and restores: the real PostgreSQL and MLflow servers stay up for the other tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import make_url

from tests.conftest import Platform
from tests.support import operator_headers, postgres
from tests.support.api_process import ApiProcess, api_process, prepare_database
from tests.support.factories import bundle, register, set_champion
from tests.support.postgres import PostgresDatabase
from tests.support.tcp_proxy import TcpProxy

MODEL = "outage_model"
BODY = {"series_ids": ["s0"], "horizon": 2}


def eventually(check: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.fixture(scope="module")
def versions(platform_env: Platform) -> list[str]:
    found = [
        register(platform_env.tracking_uri, MODEL, bundle(MODEL, mean=m).to_json()) for m in (10.0, 20.0)
    ]
    set_champion(platform_env.tracking_uri, MODEL, found[0])
    return found


def _readiness(api: ApiProcess) -> tuple[int, dict[str, Any]]:
    """/readyz with the metrics token: what is served and what failed are not for anonymous callers."""
    response = httpx.get(f"{api.url}/readyz", timeout=10, headers=operator_headers(api.data_dir))
    return response.status_code, response.json()


def test_mlflow_away_and_back(platform_env: Platform, versions: list[str], tmp_path: Path) -> None:
    proxy = TcpProxy(urlparse(platform_env.tracking_uri).port or 80)
    prepare_database(tmp_path)
    try:
        with api_process(
            platform_env, tmp_path, {"ASTRALYTIQ_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{proxy.port}"}
        ) as api:
            headers = api.token("admin", "admin-password-1")
            forecast = f"{api.url}/v1/models/{MODEL}/forecast"
            eventually(lambda: _readiness(api)[1]["models"].get(MODEL) == versions[0], what="champion served")

            proxy.cut()
            eventually(lambda: _readiness(api)[1]["registry"].startswith("error"), what="fault reported")
            status, ready = _readiness(api)
            assert status == 200 and ready["models"][MODEL] == versions[0], ready  # still serving: ready
            for _ in range(20):
                answer = httpx.post(forecast, json=BODY, headers=headers, timeout=10)
                assert answer.status_code == 200 and answer.headers["X-Model-Version"] == versions[0]
            # A champion change cannot be made while the registry is away: 503, nothing changed.
            promote = httpx.post(
                f"{api.url}/v1/models/{MODEL}/promote",
                json={"version": versions[1], "reason": "outage"},
                headers=headers,
                timeout=30,
            )
            assert promote.status_code == 503, promote.text

            proxy.restore()
            eventually(lambda: _readiness(api)[1]["registry"] == "ok", what="registry recovered")
            set_champion(platform_env.tracking_uri, MODEL, versions[1])  # the watcher works again
            eventually(
                lambda: (
                    httpx.post(forecast, json=BODY, headers=headers).headers["X-Model-Version"] == versions[1]
                ),
                what="new champion served after recovery",
            )
    finally:
        set_champion(platform_env.tracking_uri, MODEL, versions[0])
        proxy.close()


def test_app_database_away_and_back(
    platform_env: Platform, versions: list[str], postgres_database: PostgresDatabase, tmp_path: Path
) -> None:
    from astralytiq import api_keys, audit
    from astralytiq.db import session_scope

    direct = postgres_database.url
    prepare_database(tmp_path, direct)
    with session_scope(direct) as session:
        key = api_keys.issue(session, audit.Actor("tests", "system"), name="outage").key
    proxy = TcpProxy(postgres.PORT)
    through_proxy = make_url(direct).set(port=proxy.port).render_as_string(hide_password=False)
    try:
        with api_process(platform_env, tmp_path, {"ASTRALYTIQ_DATABASE_URL": through_proxy}) as api:
            forecast = f"{api.url}/v1/models/{MODEL}/forecast"
            known = {"X-API-Key": key}
            eventually(lambda: _readiness(api)[0] == 200, what="ready")
            assert httpx.post(forecast, json=BODY, headers=known).status_code == 200  # now a known caller

            proxy.cut()
            eventually(lambda: _readiness(api)[0] == 503, what="not ready once the database is gone")
            assert _readiness(api)[1]["database"].startswith("error"), _readiness(api)
            for _ in range(20):  # the key checked before keeps working; the champion keeps serving
                answer = httpx.post(forecast, json=BODY, headers=known, timeout=10)
                assert answer.status_code == 200, answer.text
                time.sleep(0.1)
            # What needs the database now is refused with 503 (retry), never a 500.
            unknown = httpx.post(forecast, json=BODY, headers={"X-API-Key": "aq_0123456789ab_x"}, timeout=30)
            assert unknown.status_code == 503, unknown.text
            login = httpx.post(
                f"{api.url}/v1/auth/token",
                data={"username": "admin", "password": "admin-password-1"},
                timeout=30,
            )
            assert login.status_code == 503 and "Retry-After" in login.headers, login.text

            proxy.restore()
            eventually(lambda: _readiness(api)[0] == 200, what="ready again without a restart")
            assert api.token("admin", "admin-password-1")  # logins work again
    finally:
        proxy.close()
