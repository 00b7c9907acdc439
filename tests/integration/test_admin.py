"""API keys, users and the audit log through the admin API and the CLI, on the real app database."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

BODY = {"series_ids": ["ATL"], "horizon": 2}


def new_key(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/admin/api-keys", json={"name": "svc", **body}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def rows_of_keys() -> list[Any]:
    from astralytiq.db import ApiKey, session_scope
    from astralytiq.settings import get_settings

    with session_scope(get_settings().app_database_url) as session:
        return [(k.prefix, k.key_hash, k.last_used_at) for k in session.scalars(select(ApiKey))]


def test_a_key_is_shown_once_stored_hashed_and_works(client: TestClient, admin: dict[str, str]) -> None:
    issued = new_key(client, admin, name="billing-service", models=["nyc_flights"], expires_in_days=30)
    assert issued["key"].startswith(f"aq_{issued['prefix']}_") and issued["active"]
    assert issued["expires_at"] and issued["last_used_at"] is None
    stored = {prefix: key_hash for prefix, key_hash, _ in rows_of_keys()}
    assert issued["key"] not in stored.values() and len(stored[issued["prefix"]]) == 64
    listed = client.get("/v1/admin/api-keys", headers=admin).json()
    assert all("key" not in k for k in listed)
    response = client.post("/v1/models/nyc_flights/forecast", json=BODY, headers={"X-API-Key": issued["key"]})
    assert response.status_code == 200 and response.headers["X-Model-Version"]
    used = next(k for k in client.get("/v1/admin/api-keys", headers=admin).json() if k["id"] == issued["id"])
    assert used["last_used_at"] is not None
    me = client.get("/v1/auth/me", headers={"X-API-Key": issued["key"]}).json()
    assert me == {"username": "key:billing-service", "role": "viewer", "kind": "api_key"}


def test_a_revoked_key_is_refused_at_once(client: TestClient, admin: dict[str, str]) -> None:
    issued = new_key(client, admin)
    headers = {"X-API-Key": issued["key"]}
    assert client.post("/v1/models/nyc_flights/forecast", json=BODY, headers=headers).status_code == 200
    revoked = client.delete(f"/v1/admin/api-keys/{issued['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] and not revoked.json()["active"]
    refused = client.post("/v1/models/nyc_flights/forecast", json=BODY, headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.delete("/v1/admin/api-keys/999999", headers=admin).status_code == 404


def test_a_key_revoked_elsewhere_is_refused_within_the_recheck_interval(
    client: TestClient, admin: dict[str, str]
) -> None:
    from cli.app import app

    issued = new_key(client, admin)
    headers = {"X-API-Key": issued["key"]}
    assert client.post("/v1/models/nyc_flights/forecast", json=BODY, headers=headers).status_code == 200
    result = CliRunner().invoke(app, ["keys", "revoke", issued["prefix"]])
    assert result.exit_code == 0, result.output
    recheck = client.app.state.settings.auth_recheck_seconds  # type: ignore[attr-defined]
    time.sleep(recheck + 0.2)
    assert client.post("/v1/models/nyc_flights/forecast", json=BODY, headers=headers).status_code == 401


def test_an_expired_key_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    from astralytiq.db import ApiKey, session_scope
    from astralytiq.settings import get_settings

    issued = new_key(client, admin, expires_in_days=1)
    with session_scope(get_settings().app_database_url) as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == issued["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    time.sleep(client.app.state.settings.auth_recheck_seconds + 0.2)  # type: ignore[attr-defined]
    response = client.post("/v1/models/nyc_flights/forecast", json=BODY, headers={"X-API-Key": issued["key"]})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "role": "admin"}, "Input should be 'viewer' or 'engineer'"),
        ({"name": "has space"}, "is not valid"),
        ({"name": ""}, "at least 1 character"),
        ({"name": "x", "models": ["a/b"]}, "no '/' or control characters"),
        ({"name": "x", "expires_in_days": 0}, "greater than or equal to 1"),
        ({"name": "x", "extra": True}, "Extra inputs are not permitted"),
    ],
)
def test_bad_key_requests_say_what_is_wrong(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/v1/admin/api-keys", json=body, headers=admin)
    assert response.status_code == 422 and fragment in response.text


def test_unknown_and_malformed_keys_are_refused(client: TestClient) -> None:
    for key in ("nope", "aq_", "aq_123456789012_wrong", "aq_x_" + "y" * 5000):
        response = client.post("/v1/models/nyc_flights/forecast", json=BODY, headers={"X-API-Key": key})
        assert response.status_code == 401, key


def test_only_admins_manage_keys_users_and_audit(client: TestClient, admin: dict[str, str]) -> None:
    viewer_token = client.post(
        "/v1/auth/token", data={"username": "viewer", "password": "viewer-password-1"}
    ).json()["access_token"]
    viewer = {"Authorization": f"Bearer {viewer_token}"}
    key = {"X-API-Key": new_key(client, admin, role="engineer")["key"]}
    for headers in (viewer, key):
        assert client.get("/v1/admin/api-keys", headers=headers).status_code == 403
        assert client.post("/v1/admin/api-keys", json={"name": "x"}, headers=headers).status_code == 403
        assert client.get("/v1/admin/users", headers=headers).status_code == 403
        assert client.get("/v1/admin/audit", headers=headers).status_code == 403
    assert client.get("/v1/admin/audit").status_code == 401


def test_users_created_disabled_and_re_enabled(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post(
        "/v1/admin/users",
        json={"username": "ana", "password": "ana-password-1", "role": "engineer"},
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["role"] == "engineer"
    assert (
        client.post(
            "/v1/admin/users", json={"username": "ana", "password": "another-pw-1"}, headers=admin
        ).status_code
        == 409
    )
    token = client.post("/v1/auth/token", data={"username": "ana", "password": "ana-password-1"}).json()[
        "access_token"
    ]
    ana = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/auth/me", headers=ana).json()["role"] == "engineer"
    assert (
        client.patch("/v1/admin/users/ana", json={"active": False}, headers=admin).json()["active"] is False
    )
    assert client.get("/v1/auth/me", headers=ana).status_code == 401  # the token dies with the account
    assert (
        client.post("/v1/auth/token", data={"username": "ana", "password": "ana-password-1"}).status_code
        == 401
    )
    assert (
        client.patch(
            "/v1/admin/users/ana", json={"active": True, "role": "viewer"}, headers=admin
        ).status_code
        == 200
    )
    # Enabling again revives no token issued before the disable (issue 16): log in afresh.
    assert client.get("/v1/auth/me", headers=ana).status_code == 401
    fresh = client.post("/v1/auth/token", data={"username": "ana", "password": "ana-password-1"}).json()
    assert fresh["role"] == "viewer" and fresh["username"] == "ana"
    assert client.patch("/v1/admin/users/nobody", json={"active": False}, headers=admin).status_code == 404
    demote = client.patch("/v1/admin/users/admin", json={"role": "viewer"}, headers=admin)
    assert demote.status_code == 409 and "cannot disable or demote themselves" in demote.text


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"username": "bob", "password": "é" * 37}, "74 bytes in UTF-8; the limit is 72"),
        ({"username": "bob", "password": "short"}, "at least 8 characters"),
        ({"username": "b o b", "password": "long-enough-1"}, "is not valid"),
        ({"username": "bob", "password": "long-enough-1", "role": "root"}, "'admin', 'engineer' or 'viewer'"),
    ],
)
def test_bad_users_are_refused(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/v1/admin/users", json=body, headers=admin)
    assert response.status_code == 422 and fragment in response.text


def test_the_audit_log_records_key_and_user_changes(client: TestClient, admin: dict[str, str]) -> None:
    issued = new_key(client, admin, name="audited")
    client.delete(f"/v1/admin/api-keys/{issued['id']}", headers=admin)
    events = client.get("/v1/admin/audit", params={"action": "api_key."}, headers=admin).json()
    assert [e["action"] for e in events[:2]] == ["api_key.revoke", "api_key.create"]
    assert all(e["target"] == f"api_key:{issued['id']}" for e in events[:2])
    assert events[1]["actor"] == "admin" and events[1]["actor_kind"] == "user" and events[1]["client"]
    assert events[1]["detail"]["name"] == "audited" and issued["key"] not in str(events)
    older = client.get(
        "/v1/admin/audit", params={"before_id": events[0]["id"], "limit": 1}, headers=admin
    ).json()
    assert older[0]["id"] < events[0]["id"]
    bad = client.get("/v1/admin/audit", params={"limit": 0}, headers=admin)
    assert bad.status_code == 422


def test_keys_cli_creates_lists_and_revokes(client: TestClient, admin: dict[str, str]) -> None:
    from cli.app import app

    runner = CliRunner()
    created = runner.invoke(
        app, ["keys", "create", "etl-job", "--model", "nyc_flights", "--expires-in-days", "7"]
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("aq_")
    assert (
        client.post("/v1/models/nyc_flights/forecast", json=BODY, headers={"X-API-Key": key}).status_code
        == 200
    )
    listed = runner.invoke(app, ["keys", "list"])
    assert "etl-job" in listed.stdout and key not in listed.stdout and "nyc_flights" in listed.stdout
    bad = runner.invoke(app, ["keys", "create", "x", "--role", "admin"])
    assert bad.exit_code == 1 and "viewer, engineer" in bad.output
    missing = runner.invoke(app, ["keys", "revoke", "nope"])
    assert missing.exit_code == 1 and "no API key with id or prefix 'nope'" in missing.output
    events = client.get("/v1/admin/audit", params={"action": "api_key.create"}, headers=admin).json()
    assert events[0]["actor_kind"] == "cli" and events[0]["detail"]["name"] == "etl-job"


def test_users_cli_disables_enables_and_changes_roles(client: TestClient, admin: dict[str, str]) -> None:
    from cli.app import app

    runner = CliRunner()
    created = runner.invoke(
        app, ["users", "create", "cli-user", "--role", "viewer", "--password-stdin"], input="cli-password-1\n"
    )
    assert created.exit_code == 0, created.output
    assert runner.invoke(app, ["users", "set-role", "cli-user", "engineer"]).exit_code == 0
    assert runner.invoke(app, ["users", "disable", "cli-user"]).exit_code == 0
    refused = client.post("/v1/auth/token", data={"username": "cli-user", "password": "cli-password-1"})
    assert refused.status_code == 401
    assert runner.invoke(app, ["users", "enable", "cli-user"]).exit_code == 0
    token = client.post("/v1/auth/token", data={"username": "cli-user", "password": "cli-password-1"}).json()
    assert token["role"] == "engineer"
    bad = runner.invoke(app, ["users", "set-role", "cli-user", "root"])
    assert bad.exit_code == 1 and "role must be one of admin, engineer, viewer" in bad.output
    missing = runner.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output
    actions = [
        e["action"]
        for e in client.get("/v1/admin/audit", params={"target": "cli-user"}, headers=admin).json()
    ]
    assert actions == ["user.enable", "user.disable", "user.role", "user.create"]


def test_users_cli_resets_and_changes_passwords(client: TestClient, admin: dict[str, str]) -> None:
    from cli.app import app

    def login(password: str) -> int:
        return client.post("/v1/auth/token", data={"username": "CLI-pw", "password": password}).status_code

    runner = CliRunner()
    created = runner.invoke(
        app, ["users", "create", "cli-pw", "--role", "viewer", "--password-stdin"], input="first-password-1\n"
    )
    assert created.exit_code == 0, created.output
    token = client.post("/v1/auth/token", data={"username": "cli-pw", "password": "first-password-1"}).json()
    session = {"Authorization": f"Bearer {token['access_token']}"}
    reset = runner.invoke(
        app, ["users", "reset-password", "CLI-PW", "--password-stdin"], input="reset-password-2\n"
    )
    assert reset.exit_code == 0 and "'cli-pw' has a new password" in reset.output, reset.output
    assert login("first-password-1") == 401 and login("reset-password-2") == 200
    assert client.get("/v1/auth/me", headers=session).status_code == 401  # the reset ended it
    wrong = runner.invoke(
        app, ["users", "change-password", "cli-pw", "--password-stdin"], input="not-it\nthird-password-3\n"
    )
    assert wrong.exit_code == 1 and "current password is not correct" in wrong.output
    changed = runner.invoke(
        app,
        ["users", "change-password", "cli-pw", "--password-stdin"],
        input="reset-password-2\nthird-password-3\n",
    )
    assert changed.exit_code == 0, changed.output
    assert login("reset-password-2") == 401 and login("third-password-3") == 200
    nul = runner.invoke(
        app, ["users", "reset-password", "cli-pw", "--password-stdin"], input="abc\x00abc\x00abc\n"
    )
    assert nul.exit_code == 1 and "control" in nul.output
    actions = [
        e["action"] for e in client.get("/v1/admin/audit", params={"target": "cli-pw"}, headers=admin).json()
    ]
    assert actions[:2] == ["user.password_change", "user.password_reset"]
