"""Repeated failed logins are throttled per account and per client (429 with Retry-After), and
an unknown user looks exactly like a wrong password: same status, body, headers and cost."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from ipaddress import ip_network

import pytest
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
    # Another address is not affected (the client address is what is counted). No `with`: the
    # lifespan would run again and install a fresh throttle, proving nothing.
    elsewhere = TestClient(api.app, client=("203.0.113.7", 50000))
    assert (
        elsewhere.post(TOKEN, data={"username": "admin", "password": "admin-password-1"}).status_code == 200
    )


def _through(api: TestClient, peer: str) -> Callable[[str, str, str], tuple[int, str]]:
    """Logins from ``peer`` (no `with`: the app and its throttle stay those of ``api``), each
    naming a browser address in X-Forwarded-For as the portal does."""
    client = TestClient(api.app, client=(peer, 50000))

    def login(forwarded_for: str, username: str, password: str) -> tuple[int, str]:
        response = client.post(
            TOKEN,
            data={"username": username, "password": password},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return response.status_code, response.text

    return login


@pytest.fixture(scope="module")
def api_trusting_loopback(api: TestClient) -> Iterator[TestClient]:
    """The API as `astralytiq up` starts it: loopback (its portal) is a trusted proxy."""
    from astralytiq.settings import get_settings
    from serving.app import create_app

    settings = get_settings().model_copy(update={"trusted_proxies": (ip_network("127.0.0.1/32"),)})
    with TestClient(create_app(settings)) as client:
        yield client


def test_browsers_behind_a_trusted_proxy_are_throttled_separately(api_trusting_loopback: TestClient) -> None:
    """The portal (loopback, trusted as `up` configures it) forwards each browser's address: one
    person's failures lock out that person's address, not every portal user."""
    api = api_trusting_loopback
    api.app.state.login_throttle = LoginThrottle(100, 3, 300)  # type: ignore[attr-defined]
    portal = _through(api, "127.0.0.1")
    for n in range(3):
        assert portal("198.51.100.1", f"guess-{n}", "wrong-password")[0] == 401
    status, text = portal("198.51.100.1", "admin", "admin-password-1")
    assert status == 429 and "too many failed logins from this client" in text
    # Another browser through the same portal logs in.
    assert portal("198.51.100.2", "admin", "admin-password-1")[0] == 200


def test_loopback_is_not_a_trusted_proxy_unless_configured(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    """By default no proxy is trusted, loopback included: a local process cannot write the
    throttle's (and the audit log's) client address with X-Forwarded-For."""
    throttle(per_account=100, per_client=3, window=300)
    local = _through(api, "127.0.0.1")
    for n in range(3):
        assert local(f"198.51.100.{n}", f"guess-{n}", "wrong-password")[0] == 401
    status, text = local("198.51.100.50", "admin", "admin-password-1")
    assert status == 429 and "too many failed logins from this client" in text


def test_an_untrusted_peer_cannot_dodge_the_throttle_with_x_forwarded_for(
    api: TestClient, throttle: Callable[..., LoginThrottle]
) -> None:
    throttle(per_account=100, per_client=3, window=300)
    attacker = _through(api, "203.0.113.9")
    for n in range(3):
        assert attacker(f"198.51.100.{n}", f"guess-{n}", "wrong-password")[0] == 401
    # A fresh forged address (even the portal's own) does not reset the count: the peer is counted.
    for forged in ("198.51.100.99", "127.0.0.1"):
        status, text = attacker(forged, "admin", "admin-password-1")
        assert status == 429 and "too many failed logins from this client" in text


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


def test_the_window_slides_and_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from serving import login_throttle

    now = [1000.0]
    throttle = LoginThrottle(2, 1_000_000, 60, clock=lambda: now[0])
    throttle.failed("ana", "10.0.0.1")
    now[0] += 30
    throttle.failed("ana", "10.0.0.1")
    refusal = throttle.check("ana", "10.0.0.2")
    assert refusal is not None and refusal.retry_after == 30  # until the first failure is 60 s old
    now[0] += 30.5
    assert throttle.check("ana", "10.0.0.2") is None  # one failure left in the window
    # A flood of distinct usernames cannot grow the table past its bound.
    monkeypatch.setattr(login_throttle, "MAX_TRACKED", 100)
    for n in range(1000):
        throttle.failed(f"user-{n}", "10.0.0.3")
    assert len(throttle._failures) <= 101  # type: ignore[attr-defined]
