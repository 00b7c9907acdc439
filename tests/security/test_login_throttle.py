"""Repeated failed logins are throttled per account and per client (429 with Retry-After), and
an unknown user looks exactly like a wrong password: same status, body, headers and cost."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from serving.login_throttle import LoginThrottle

TOKEN = "/v1/auth/token"


def _login(api: TestClient, username: str, password: str) -> tuple[int, dict[str, str], str]:
    response = api.post(TOKEN, data={"username": username, "password": password})
    return response.status_code, dict(response.headers), response.text


def test_an_account_is_throttled_after_repeated_failures(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    throttle(per_account=3, per_client=100, window=300)
    for _ in range(3):
        assert _login(api, "viewer", "wrong-password")[0] == 401
    status, headers, text = _login(api, "viewer", "wrong-password")
    assert status == 429, text
    assert "too many failed logins for this account" in text
    assert 1 <= int(headers["retry-after"]) <= 300
    # Even the right password waits: otherwise guessing would simply go on.
    assert _login(api, "viewer", "viewer-password-1")[0] == 429
    # Usernames differing in case are one account.
    assert _login(api, "VIEWER", "wrong-password")[0] == 429
    # Another account from the same client is not locked out.
    assert _login(api, "admin", "wrong-password")[0] == 401


def test_a_client_is_throttled_across_accounts(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    throttle(per_account=100, per_client=4, window=300)
    for n in range(4):
        assert _login(api, f"sprayed-{n}", "wrong-password")[0] == 401
    status, headers, text = _login(api, "admin", "admin-password-1")
    assert status == 429, text
    assert "too many failed logins from this client" in text
    assert int(headers["retry-after"]) >= 1
    # Another address is not affected (the client address is what is counted).
    with TestClient(api.app, client=("203.0.113.7", 50000)) as elsewhere:
        assert (
            elsewhere.post(TOKEN, data={"username": "admin", "password": "admin-password-1"}).status_code
            == 200
        )


def test_unknown_users_are_counted_like_real_ones(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    throttle(per_account=2, per_client=100, window=300)
    for username in ("viewer", "nobody-at-all"):
        answers = [_login(api, username, "wrong-password") for _ in range(3)]
        assert [a[0] for a in answers] == [401, 401, 429]
    # The same refusal (up to the seconds left) whether or not the account exists.
    seconds = re.compile(r"\d+")
    assert seconds.sub("N", _login(api, "viewer", "x")[2]) == seconds.sub(
        "N", _login(api, "nobody-at-all", "x")[2]
    )


def test_the_lock_lifts_after_retry_after(api: TestClient, throttle: Callable[..., LoginThrottle]) -> None:
    throttle(per_account=2, per_client=100, window=1.5)
    for _ in range(2):
        _login(api, "viewer", "wrong-password")
    status, headers, _ = _login(api, "viewer", "viewer-password-1")
    assert status == 429
    time.sleep(int(headers["retry-after"]) + 0.1)
    assert _login(api, "viewer", "viewer-password-1")[0] == 200


def test_a_success_clears_the_accounts_failures(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    throttle(per_account=3, per_client=100, window=300)
    for _ in range(2):
        assert _login(api, "viewer", "wrong-password")[0] == 401
    assert _login(api, "viewer", "viewer-password-1")[0] == 200
    for _ in range(3):
        assert _login(api, "viewer", "wrong-password")[0] == 401  # a fresh budget of three


def test_unknown_user_and_wrong_password_are_indistinguishable(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    wrong = _login(api, "viewer", "wrong-password")
    unknown = _login(api, "no-such-person", "wrong-password")
    assert wrong[0] == unknown[0] == 401
    assert wrong[2] == unknown[2]
    vary = {"date", "content-length"}
    assert {k: v for k, v in wrong[1].items() if k not in vary} == {
        k: v for k, v in unknown[1].items() if k not in vary
    }

    # Similar cost: both run one bcrypt check (a dummy hash for the unknown user). Without it the
    # unknown user would answer ~100x faster; the bounds are wide so load on the machine cannot
    # make this flaky, and narrow enough to catch a skipped check.
    def median(username: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            assert _login(api, username, "wrong-password")[0] == 401
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, nobody = median("viewer"), median("no-such-person")
    assert 0.33 < known / nobody < 3, (known, nobody)
