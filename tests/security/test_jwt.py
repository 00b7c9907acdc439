"""Forged, altered and incomplete bearer tokens are all 401 at the API; a weak signing secret
keeps the API from starting outside development."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from tests.support import BIN

ME = "/v1/auth/me"
HS256 = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "viewer",
        "role": "viewer",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": "astralytiq",
        "aud": "astralytiq-api",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}  # ``...`` drops a claim


def _key(api: TestClient) -> str:
    return api.app.state.signing_key  # type: ignore[attr-defined,no-any-return]


def _signed(api: TestClient, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token built by hand, HMAC-SHA256-signed with the API's real key whatever ``alg`` says."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(_key(api).encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _status(api: TestClient, token: str) -> int:
    return api.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_token_from_the_real_key_is_accepted(api: TestClient) -> None:
    # The control: everything refused below differs from this token in one way only.
    token = jwt.encode(_claims(), _key(api), algorithm="HS256")
    response = api.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "viewer"


def test_alg_none_is_refused(api: TestClient) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(sub="admin", role="admin")).encode())
    assert _status(api, f"{header}.{payload}.") == 401
    for spelling in ("None", "NONE", "nOnE"):
        header = _b64(json.dumps({"alg": spelling, "typ": "JWT"}).encode())
        assert _status(api, f"{header}.{payload}.") == 401


def test_an_rs256_token_is_refused(api: TestClient) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _status(api, jwt.encode(_claims(), private, algorithm="RS256")) == 401


def test_rs256_named_but_hmac_signed_with_the_secret_is_refused(api: TestClient) -> None:
    # The algorithm-confusion attack: the header names an asymmetric algorithm, the signature is
    # a valid HMAC under the server's key. Only HS256 is ever accepted.
    assert _status(api, _signed(api, {"alg": "RS256", "typ": "JWT"}, _claims())) == 401
    assert _status(api, _signed(api, HS256, _claims())) == 200  # control


def test_another_hmac_algorithm_with_the_right_key_is_refused(api: TestClient) -> None:
    assert _status(api, jwt.encode(_claims(), _key(api), algorithm="HS512")) == 401
    assert _status(api, jwt.encode(_claims(), _key(api), algorithm="HS384")) == 401


def test_a_tampered_payload_is_refused(api: TestClient) -> None:
    header, _payload, signature = jwt.encode(_claims(), _key(api), algorithm="HS256").split(".")
    escalated = _b64(json.dumps(_claims(sub="admin", role="admin")).encode())
    assert _status(api, f"{header}.{escalated}.{signature}") == 401


def test_an_empty_or_wrong_signature_is_refused(api: TestClient) -> None:
    header, payload, _signature = jwt.encode(_claims(), _key(api), algorithm="HS256").split(".")
    assert _status(api, f"{header}.{payload}.") == 401
    assert _status(api, f"{header}.{payload}") == 401
    assert _status(api, jwt.encode(_claims(), "another-key-" + "x" * 40, algorithm="HS256")) == 401


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud"])
def test_a_missing_required_claim_is_refused(api: TestClient, claim: str) -> None:
    assert _status(api, jwt.encode(_claims(**{claim: ...}), _key(api), algorithm="HS256")) == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "astralytiq-evil"},
        {"iss": "astralytiq "},
        {"iss": "ASTRALYTIQ"},
        {"iss": "astralyti"},
        {"iss": "stralytiq"},
        {"iss": ["astralytiq"]},
        {"aud": "astralytiq-api-x"},
        {"aud": "astralytiq"},
        {"aud": "ASTRALYTIQ-API"},
        {"aud": ["astralytiq-api"]},
        {"aud": ["astralytiq-api", "another-service"]},
    ],
    ids=str,
)
def test_issuer_and_audience_must_match_exactly(api: TestClient, changes: dict[str, Any]) -> None:
    # Built by hand: PyJWT would not even encode some of these (a list as issuer).
    assert _status(api, _signed(api, HS256, _claims(**changes))) == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 5},  # expired
        {"nbf": int(time.time()) + 3600},  # not valid yet
        {"iat": int(time.time()) + 3600},  # issued in the future
        {"sub": 12345},  # not a string
        {"sub": "nobody-by-this-name"},  # no such user
        {"role": "superuser"},  # not a role
    ],
    ids=str,
)
def test_expired_future_and_unknown_subjects_are_refused(api: TestClient, changes: dict[str, Any]) -> None:
    assert _status(api, _signed(api, HS256, _claims(**changes))) == 401


@pytest.mark.parametrize("junk", ["a.b.c", "....", "x" * 5000, "eyJhbGciOiJIUzI1NiJ9.e30", "Bearer"])
def test_malformed_tokens_are_401_not_500(api: TestClient, junk: str) -> None:
    assert _status(api, junk) == 401


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("short-secret", "at least 32 bytes"),
        ("changethis", "known example value"),
        ("", "is not set"),
    ],
)
def test_the_api_refuses_to_start_with_a_weak_secret_in_production(
    secret: str, reason: str, tmp_path: Any
) -> None:
    env = {
        "PATH": str(BIN),
        "ASTRALYTIQ_ENVIRONMENT": "production",
        "ASTRALYTIQ_SECRET_KEY": secret,
        "ASTRALYTIQ_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "serving", "--port", "1"],
        env=env,
        cwd=tmp_path,  # no .env file of the repository is read
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()
    assert len(message) == 1, result.stderr  # one line, no traceback
    assert "ASTRALYTIQ_SECRET_KEY" in message[0] and reason in message[0]


def test_the_cli_refuses_a_short_secret_with_one_line(tmp_path: Any) -> None:
    result = subprocess.run(
        [str(BIN / "astralytiq"), "serve"],
        env={
            "PATH": str(BIN),
            "ASTRALYTIQ_ENVIRONMENT": "test",
            "ASTRALYTIQ_SECRET_KEY": "s" * 31,
            "ASTRALYTIQ_DATA_DIR": str(tmp_path),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "at least 32 bytes" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_development_accepts_no_secret_but_never_a_short_configured_one_elsewhere() -> None:
    from pydantic import ValidationError

    from astralytiq.settings import Settings

    Settings(environment="development", secret_key="")  # the generated per-data-dir key is used
    Settings(environment="production", secret_key="p" * 32)
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(environment="production", secret_key="é" * 15)  # 30 bytes, 15 characters
