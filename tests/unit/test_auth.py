"""Passwords and tokens: bcrypt without truncation, JWT with one algorithm and exact claims."""

import jwt
import pytest

from astralytiq import api_keys
from astralytiq.accounts import PasswordPolicyError, hash_password, verify_password
from serving import auth

KEY = "k" * 48
ISS, AUD = "astralytiq", "astralytiq-api"


def test_password_round_trip() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$2b$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse battery!", stored)


def test_password_over_72_bytes_is_refused_not_truncated() -> None:
    with pytest.raises(PasswordPolicyError, match="73 bytes in UTF-8; the limit is 72"):
        hash_password("a" * 73)
    with pytest.raises(PasswordPolicyError, match="limit is 72"):
        hash_password("é" * 37)  # 74 bytes, 37 characters


def test_token_round_trip() -> None:
    token, _ = auth.create_access_token("ana", "engineer", key=KEY, issuer=ISS, audience=AUD, minutes=5)
    claims = auth.decode_access_token(token, key=KEY, issuer=ISS, audience=AUD)
    assert (claims.subject, claims.role) == ("ana", "engineer")


def test_alg_none_is_refused() -> None:
    token = jwt.encode(
        {"sub": "ana", "role": "admin", "iss": ISS, "aud": AUD, "iat": 0, "exp": 4102444800},
        "",
        algorithm="none",
    )
    with pytest.raises(auth.InvalidToken):
        auth.decode_access_token(token, key=KEY, issuer=ISS, audience=AUD)


@pytest.mark.parametrize("claims", [{"iss": "other"}, {"aud": "other"}, {"exp": 1}])
def test_wrong_issuer_audience_or_expired_is_refused(claims: dict) -> None:  # type: ignore[type-arg]
    payload = {"sub": "ana", "role": "admin", "iss": ISS, "aud": AUD, "iat": 0, "exp": 4102444800, **claims}
    with pytest.raises(auth.InvalidToken):
        auth.decode_access_token(
            jwt.encode(payload, KEY, algorithm="HS256"), key=KEY, issuer=ISS, audience=AUD
        )


def test_tampered_token_is_refused() -> None:
    token, _ = auth.create_access_token("ana", "viewer", key=KEY, issuer=ISS, audience=AUD, minutes=5)
    header, _payload, signature = token.split(".")
    forged = jwt.encode(
        {"sub": "ana", "role": "admin", "iss": ISS, "aud": AUD, "iat": 0, "exp": 4102444800}, "x" * 48
    ).split(".")[1]
    with pytest.raises(auth.InvalidToken):
        auth.decode_access_token(f"{header}.{forged}.{signature}", key=KEY, issuer=ISS, audience=AUD)


def test_api_keys_are_hashed_and_checked() -> None:
    key, prefix, stored = api_keys.generate()
    assert key.startswith("aq_") and prefix in key and key not in stored
    assert api_keys.prefix_of(key) == prefix
    assert api_keys.matches(key, stored) and not api_keys.matches(key + "x", stored)


def _token_expiring_in(seconds: float) -> str:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    payload = {"sub": "ana", "role": "viewer", "ver": 0, "iat": now, "nbf": now, "iss": ISS, "aud": AUD}
    return jwt.encode({**payload, "exp": now + timedelta(seconds=seconds)}, KEY, algorithm="HS256")


def test_a_verified_token_is_kept_until_it_expires_and_refused_after() -> None:
    import time

    tokens = auth.VerifiedTokens(key=KEY, issuer=ISS, audience=AUD)
    token = _token_expiring_in(1.5)
    first = tokens.claims(token)
    assert tokens.claims(token) is first and len(tokens) == 1  # the second use is not decoded again
    time.sleep(1.6)
    with pytest.raises(auth.InvalidToken, match="expired"):
        tokens.claims(token)
    assert len(tokens) == 0
    with pytest.raises(auth.InvalidToken, match="expired"):
        tokens.claims(token)  # decoded afresh, refused by PyJWT itself


def test_only_valid_tokens_are_kept_and_a_forgery_of_a_kept_one_is_refused() -> None:
    tokens = auth.VerifiedTokens(key=KEY, issuer=ISS, audience=AUD)
    token = _token_expiring_in(60)
    tokens.claims(token)
    header, payload, signature = token.split(".")
    for forged in (f"{header}.{payload}.{signature[:-2]}AA", f"{header}.{payload}.", token + "x"):
        with pytest.raises(auth.InvalidToken):
            tokens.claims(forged)
    other_key = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), "o" * 48, algorithm="HS256"
    )
    with pytest.raises(auth.InvalidToken):
        tokens.claims(other_key)
    assert len(tokens) == 1


def test_a_flood_of_distinct_tokens_cannot_grow_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.VerifiedTokens, "MAX_ENTRIES", 5)
    tokens = auth.VerifiedTokens(key=KEY, issuer=ISS, audience=AUD)
    for _ in range(12):
        tokens.claims(_token_expiring_in(60 + _))
        assert len(tokens) <= 5
