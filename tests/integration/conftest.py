"""The API under test in-process (TestClient, lifespan included) and an admin's bearer header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from flows.outcomes import TrainOutcome
from tests.conftest import Platform


@pytest.fixture(scope="module")
def client(
    platform_env: Platform, trained_demo: TrainOutcome, admin_credentials: tuple[str, str]
) -> Iterator[TestClient]:
    from astralytiq.settings import get_settings
    from serving.app import create_app

    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(client: TestClient, admin_credentials: tuple[str, str]) -> dict[str, str]:
    username, password = admin_credentials
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
