"""The attacker's tests use the shared in-process API (``api``, ``admin``: tests/conftest.py);
throttling is set per test through ``throttle``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from serving.login_throttle import LoginThrottle


@pytest.fixture
def throttle(api: TestClient) -> Iterator[Callable[..., LoginThrottle]]:
    """Replace the app's login throttle (fresh counts, chosen limits); the default comes back after."""
    original = api.app.state.login_throttle  # type: ignore[attr-defined]

    def install(per_account: int = 1000, per_client: int = 1000, window: float = 300) -> LoginThrottle:
        fresh = LoginThrottle(per_account, per_client, window)
        api.app.state.login_throttle = fresh  # type: ignore[attr-defined]
        return fresh

    install()
    yield install
    api.app.state.login_throttle = original  # type: ignore[attr-defined]


def bearer(api: TestClient, username: str, password: str) -> dict[str, str]:
    response = api.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
