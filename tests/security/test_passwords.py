"""Passwords are never truncated (bcrypt stops at 72 bytes and at NUL: neither is accepted), and no
password of 1-200 UTF-8 bytes makes the API answer 500, at login or when an admin creates a user."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.login_throttle import LoginThrottle

_names = itertools.count()


def _fits(text: str) -> bool:
    return 1 <= len(text.encode("utf-8")) <= 200


passwords = st.text(min_size=1, max_size=200).filter(_fits)
SLOW_HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,  # bcrypt takes ~0.2 s a check on purpose
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: a failure here is reproducible
)


def _create(api: TestClient, admin: dict[str, str], password: str) -> tuple[str, int, str]:
    username = f"pw-user-{next(_names)}"
    response = api.post(
        "/v1/admin/users", json={"username": username, "password": password, "role": "viewer"}, headers=admin
    )
    return username, response.status_code, response.text


def test_over_72_bytes_is_a_clear_422_at_creation(
    api: TestClient, throttle: Callable[..., LoginThrottle], admin: dict[str, str]
) -> None:
    for password in ("a" * 73, "é" * 37, "🔑" * 19):  # 73, 74 and 76 bytes
        _, status, text = _create(api, admin, password)
        assert status == 422, text
        assert "bytes in UTF-8; the limit is 72 bytes" in text


def test_a_password_is_checked_whole_never_its_first_72_bytes(
    api: TestClient, throttle: Callable[..., LoginThrottle], admin: dict[str, str]
) -> None:
    exact = "p" * 70 + "é"  # 72 bytes: the longest accepted
    username, status, text = _create(api, admin, exact)
    assert status == 201, text
    assert api.post("/v1/auth/token", data={"username": username, "password": exact}).status_code == 200
    # bcrypt itself would accept these (it reads only 72 bytes); the API must not.
    for longer in (exact + "x", exact + "é" * 50):
        response = api.post("/v1/auth/token", data={"username": username, "password": longer})
        assert response.status_code == 401, response.text
    assert api.post("/v1/auth/token", data={"username": username, "password": exact[:-1]}).status_code == 401


@settings(SLOW_HYPOTHESIS, max_examples=8)  # two bcrypt checks an example
@given(password=passwords)
def test_no_password_makes_login_fail_with_a_500(
    api: TestClient, throttle: Callable[..., LoginThrottle], password: str
) -> None:
    for username in ("viewer", "nobody-here"):
        response = api.post("/v1/auth/token", data={"username": username, "password": password})
        assert response.status_code in (401, 422), (password, response.status_code, response.text)


@SLOW_HYPOTHESIS
@given(password=passwords)
def test_no_password_makes_user_creation_fail_with_a_500(
    api: TestClient, throttle: Callable[..., LoginThrottle], admin: dict[str, str], password: str
) -> None:
    username, status, text = _create(api, admin, password)
    size = len(password.encode("utf-8"))
    printable = not any(unicodedata.category(c) == "Cc" for c in password)
    if len(password) >= 8 and size <= 72 and printable:
        assert status == 201, (password, text)
        # What was stored is the whole password: it logs in, in any script.
        login = api.post("/v1/auth/token", data={"username": username, "password": password})
        assert login.status_code == 200, (password, login.text)
    else:
        assert status == 422, (password, text)
        assert "password" in text


@pytest.mark.parametrize(
    "password", ["abc\x00abc\x00abc\x00abc", "long-enough\x00", "tab\tinside-it", "bell\x07-1234"]
)
def test_control_characters_are_refused_never_cut_short(
    api: TestClient, throttle: Callable[..., LoginThrottle], admin: dict[str, str], password: str
) -> None:
    """bcrypt reads "abc\\0abc..." as "abc": accepted, that password would let "abc" log in."""
    username, status, text = _create(api, admin, password)
    assert status == 422, text
    assert "control" in text and "U+00" in text
    assert api.post("/v1/auth/token", data={"username": username, "password": password}).status_code == 401
    cut = password.split("\x00")[0]
    assert api.post("/v1/auth/token", data={"username": username, "password": cut}).status_code == 401


def test_a_stored_hash_of_a_nul_password_does_not_let_its_prefix_in(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    """A hash written before the policy (straight into the database) of "abc\\0...": logging in
    with the NUL password itself is refused (never handed to bcrypt)."""
    import bcrypt
    from sqlalchemy import update

    from astralytiq.accounts import create_user
    from astralytiq.db import User, session_scope
    from astralytiq.settings import get_settings

    url = get_settings().app_database_url
    create_user(url, "legacy-nul", "a-fine-password-1", "viewer")
    legacy = bcrypt.hashpw(b"abc\x00abc\x00abc\x00abc", bcrypt.gensalt(rounds=4)).decode()
    with session_scope(url) as session:
        session.execute(update(User).where(User.username == "legacy-nul").values(password_hash=legacy))
    response = api.post(
        "/v1/auth/token", data={"username": "legacy-nul", "password": "abc\x00abc\x00abc\x00abc"}
    )
    assert response.status_code == 401
