"""API keys: only a hash is at rest, a key does only what its role and models allow, and a
revoked key is refused on its very next request, however recently it was checked."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from astralytiq.db import ApiKey, session_scope

BODY = {"series_ids": ["ATL"], "horizon": 1}


def _issue(api: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    response = api.post("/v1/admin/api-keys", json={"name": "sec-svc", **body}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def long_recheck(api: TestClient) -> Iterator[None]:
    """Trust cached key answers for five minutes: revocation must not depend on the cache expiring."""
    access = api.app.state.access  # type: ignore[attr-defined]
    before, access.recheck_seconds = access.recheck_seconds, 300.0
    yield
    access.recheck_seconds = before


def test_only_a_hash_of_the_key_is_stored(api: TestClient, admin: dict[str, str]) -> None:
    from astralytiq.settings import get_settings

    issued = _issue(api, admin, models=["alpha"])
    key = issued["key"]
    secret = key.rsplit("_", 1)[1]
    with session_scope(get_settings().app_database_url) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.id == issued["id"]))
        assert row is not None
        stored = [str(getattr(row, column.key)) for column in ApiKey.__table__.columns]
    # No column holds the key or its secret part, in any form but the SHA-256 digest.
    assert not [value for value in stored if key in value or secret in value]
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.prefix == issued["prefix"] and row.prefix not in secret
    # The listing never shows it again.
    listed = api.get("/v1/admin/api-keys", headers=admin).json()
    assert key not in str(listed) and secret not in str(listed)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/models/beta/forecast", BODY),
        ("post", "/v1/forecasts", {"requests": [{"model": "beta", **BODY}]}),
        ("get", "/v1/models/beta", None),
        ("get", "/v1/models/beta/series", None),
        ("get", "/v1/models/beta/drift", None),
        ("get", "/v1/models/beta/drift/1/html", None),
        ("post", "/v1/models/beta/promote", {"version": "1", "reason": "probe"}),
        ("post", "/v1/models/beta/rollback", {"reason": "probe"}),
    ],
)
def test_a_key_scoped_to_one_model_cannot_reach_another(
    api: TestClient, admin: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    issued = _issue(api, admin, role="engineer", models=["alpha"])
    headers = {"X-API-Key": issued["key"]}
    response = api.request(method, path, json=body, headers=headers)
    assert response.status_code == 403, (path, response.status_code, response.text)
    assert "not allowed to use model 'beta'" in response.text
    listed = api.get("/v1/models", headers=headers)
    assert listed.status_code == 200 and all(m["name"] == "alpha" for m in listed.json())


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("viewer", "post", "/v1/models/alpha/promote", {"version": "1", "reason": "probe"}),
        ("viewer", "post", "/v1/models/alpha/rollback", {"reason": "probe"}),
        ("viewer", "get", "/v1/admin/api-keys", None),
        ("engineer", "get", "/v1/admin/api-keys", None),
        ("engineer", "post", "/v1/admin/api-keys", {"name": "escalated", "role": "engineer"}),
        ("engineer", "delete", "/v1/admin/api-keys/1", None),
        ("engineer", "get", "/v1/admin/users", None),
        ("engineer", "post", "/v1/admin/users", {"username": "x1", "password": "p" * 12, "role": "admin"}),
        ("engineer", "get", "/v1/admin/audit", None),
    ],
)
def test_a_key_cannot_go_past_its_role(
    api: TestClient, admin: dict[str, str], role: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    issued = _issue(api, admin, role=role)
    response = api.request(method, path, json=body, headers={"X-API-Key": issued["key"]})
    assert response.status_code == 403, (path, response.text)


def test_no_key_is_ever_an_admin(api: TestClient, admin: dict[str, str]) -> None:
    response = api.post("/v1/admin/api-keys", json={"name": "root", "role": "admin"}, headers=admin)
    assert response.status_code == 422


def test_a_revoked_key_is_refused_on_its_next_request(
    api: TestClient, admin: dict[str, str], long_recheck: None
) -> None:
    issued = _issue(api, admin)
    headers = {"X-API-Key": issued["key"]}
    for _ in range(3):  # now cached as valid, trusted for five minutes
        assert api.get("/v1/auth/me", headers=headers).status_code == 200
    assert api.delete(f"/v1/admin/api-keys/{issued['id']}", headers=admin).status_code == 200
    refused = api.get("/v1/auth/me", headers=headers)
    assert refused.status_code == 401, refused.text
    assert "revoked" in refused.json()["detail"]
    # Never accepted again, including in another request shape.
    assert api.post("/v1/models/alpha/forecast", json=BODY, headers=headers).status_code == 401


def test_a_key_with_a_guessed_secret_is_refused(api: TestClient, admin: dict[str, str]) -> None:
    issued = _issue(api, admin)
    prefix, secret = issued["key"].rsplit("_", 1)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for guess in (f"{prefix}_{flipped}", prefix, f"{prefix}_", issued["prefix"], "aq__" + secret):
        assert api.get("/v1/auth/me", headers={"X-API-Key": guess}).status_code == 401, guess
