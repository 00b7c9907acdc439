"""Sessions end when they should: a disable, a role change or a password change refuses every token
issued before (re-enabling revives none), a person changes their own password and an admin
resets one, and usernames are one account whatever their case."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from fastapi.testclient import TestClient

from serving.login_throttle import LoginThrottle
from tests.security.conftest import bearer

_names = itertools.count()
PASSWORD = "first-password-1"


def _person(api: TestClient, admin: dict[str, str], role: str = "viewer") -> tuple[str, dict[str, str]]:
    username = f"life-{next(_names)}"
    created = api.post(
        "/v1/admin/users", json={"username": username, "password": PASSWORD, "role": role}, headers=admin
    )
    assert created.status_code == 201, created.text
    return username, bearer(api, username, PASSWORD)


def _works(api: TestClient, headers: dict[str, str]) -> bool:
    status = api.get("/v1/auth/me", headers=headers).status_code
    assert status in (200, 401), status
    return status == 200


def test_disabling_ends_every_session_and_enabling_revives_none(
    api: TestClient, admin: dict[str, str], throttle: Callable[..., LoginThrottle]
) -> None:
    username, token = _person(api, admin)
    assert _works(api, token)
    assert api.patch(f"/v1/admin/users/{username}", json={"active": False}, headers=admin).status_code == 200
    assert not _works(api, token)
    assert api.patch(f"/v1/admin/users/{username}", json={"active": True}, headers=admin).status_code == 200
    assert not _works(api, token)  # the old token stays dead
    assert _works(api, bearer(api, username, PASSWORD))  # logging in again works


def test_a_role_change_ends_every_session(
    api: TestClient, admin: dict[str, str], throttle: Callable[..., LoginThrottle]
) -> None:
    username, token = _person(api, admin, "engineer")
    assert api.patch(f"/v1/admin/users/{username}", json={"role": "viewer"}, headers=admin).status_code == 200
    assert not _works(api, token)
    fresh = bearer(api, username, PASSWORD)
    assert api.get("/v1/auth/me", headers=fresh).json()["role"] == "viewer"


def test_a_person_changes_their_password_and_their_other_sessions_end(
    api: TestClient, admin: dict[str, str], throttle: Callable[..., LoginThrottle]
) -> None:
    username, token = _person(api, admin)
    other_device = bearer(api, username, PASSWORD)
    wrong = api.post(
        "/v1/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "second-password-2"},
        headers=token,
    )
    assert wrong.status_code == 403 and "current password is not correct" in wrong.text
    assert _works(api, token)  # a wrong current password changes nothing
    changed = api.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "second-password-2"},
        headers=token,
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    assert not _works(api, token) and not _works(api, other_device)
    assert _works(api, {"Authorization": f"Bearer {changed.json()['access_token']}"})
    assert api.post("/v1/auth/token", data={"username": username, "password": PASSWORD}).status_code == 401
    assert (
        api.post("/v1/auth/token", data={"username": username, "password": "second-password-2"}).status_code
        == 200
    )
    audit = api.get(
        "/v1/admin/audit", params={"action": "user.password_change", "target": username}, headers=admin
    )
    assert [e["actor"] for e in audit.json()] == [username]


def test_a_verified_token_still_ends_within_the_recheck_interval_when_changed_elsewhere(
    api: TestClient, admin: dict[str, str], throttle: Callable[..., LoginThrottle]
) -> None:
    """The API keeps a token it has verified until the token expires; a disable or a role change
    made by another process (here the CLI, writing the app database) still ends it within
    ASTRALYTIQ_AUTH_RECHECK_SECONDS, and a token never verified is refused as before."""
    import time

    from typer.testing import CliRunner

    from cli.app import app as cli

    recheck = api.app.state.settings.auth_recheck_seconds  # type: ignore[attr-defined]
    for change in (["disable", "{name}"], ["set-role", "{name}", "engineer"]):
        username, token = _person(api, admin)
        for _ in range(3):
            assert _works(api, token)  # verified once, then taken from the table of verified tokens
        assert token["Authorization"].removeprefix("Bearer ") in api.app.state.tokens  # type: ignore[attr-defined]
        result = CliRunner().invoke(cli, ["users", *(a.format(name=username) for a in change)])
        assert result.exit_code == 0, result.output
        time.sleep(recheck + 0.2)
        assert not _works(api, token), change


def test_the_new_password_meets_the_policy(
    api: TestClient, admin: dict[str, str], throttle: Callable[..., LoginThrottle]
) -> None:
    _, token = _person(api, admin)
    for new, reason in (("short", "at least 8"), ("nul\x00in-the-middle", "control"), ("é" * 40, "72 bytes")):
        refused = api.post(
            "/v1/auth/password", json={"current_password": PASSWORD, "new_password": new}, headers=token
        )
        assert refused.status_code == 422 and reason in refused.text, (new, refused.text)
    assert _works(api, token)


def test_an_admin_resets_a_password_and_the_persons_sessions_end(
    api: TestClient, admin: dict[str, str], throttle: Callable[..., LoginThrottle]
) -> None:
    username, token = _person(api, admin)
    reset = api.post(
        f"/v1/admin/users/{username}/password", json={"password": "reset-by-admin-3"}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    assert not _works(api, token)
    assert _works(api, bearer(api, username, "reset-by-admin-3"))
    assert (
        api.post(
            "/v1/admin/users/nobody-here/password", json={"password": "x" * 12}, headers=admin
        ).status_code
        == 404
    )
    # Only admins reset; a person cannot reset someone else's password.
    assert (
        api.post(
            f"/v1/admin/users/{username}/password",
            json={"password": "y" * 12},
            headers=bearer(api, username, "reset-by-admin-3"),
        ).status_code
        == 403
    )


def test_an_api_key_has_no_password_to_change(api: TestClient, admin: dict[str, str]) -> None:
    key = api.post("/v1/admin/api-keys", json={"name": "no-password"}, headers=admin).json()["key"]
    refused = api.post(
        "/v1/auth/password",
        json={"current_password": "anything", "new_password": "something-long"},
        headers={"X-API-Key": key},
    )
    assert refused.status_code == 403 and "API key has no password" in refused.text


def test_usernames_are_one_account_whatever_their_case(
    api: TestClient, admin: dict[str, str], throttle: Callable[..., LoginThrottle]
) -> None:
    created = api.post(
        "/v1/admin/users",
        json={"username": "Case-Person", "password": PASSWORD, "role": "viewer"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    again = api.post(
        "/v1/admin/users",
        json={"username": "case-PERSON", "password": PASSWORD, "role": "admin"},
        headers=admin,
    )
    assert again.status_code == 409 and "usernames ignore case" in again.text
    for spelling in ("Case-Person", "case-person", "CASE-PERSON"):
        token = bearer(api, spelling, PASSWORD)
        assert api.get("/v1/auth/me", headers=token).json()["username"] == "Case-Person"
    assert (
        api.patch("/v1/admin/users/CASE-person", json={"role": "engineer"}, headers=admin).json()["role"]
        == "engineer"
    )
