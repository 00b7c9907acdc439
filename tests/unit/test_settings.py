"""Settings: embedded defaults, and refusal to run production on a weak or default secret."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from astralytiq.settings import Settings


def test_embedded_defaults_live_in_one_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.app_database_url == f"sqlite:///{tmp_path / 'app.db'}"
    assert settings.mlflow_store_uri.startswith(f"sqlite:///{tmp_path}")
    assert Path(settings.mlflow_artifacts_uri).is_relative_to(tmp_path)
    assert settings.prefect_home.is_relative_to(tmp_path)


def test_development_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).signing_key()
    assert len(first) >= 32 and Settings(data_dir=tmp_path).signing_key() == first


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "is not set"),
        ("changethis", "known example value"),
        ("short-secret", "at least 32 bytes"),
    ],
)
def test_production_refuses_weak_secrets(secret: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(environment="production", secret_key=secret)


def test_production_accepts_a_strong_secret() -> None:
    assert Settings(environment="production", secret_key="s" * 40).signing_key() == "s" * 40


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTRALYTIQ_API_PORT", "9123")
    assert Settings().api_port == 9123
    monkeypatch.setenv("ASTRALYTIQ_API_PORT", "not-a-port")
    with pytest.raises(ValidationError, match="api_port"):
        Settings()


def test_no_proxy_is_trusted_by_default_and_a_list_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback is not trusted unless configured: any local process could otherwise write the
    audit log's client address (issue 16). `astralytiq up` trusts loopback for its own portal."""
    from ipaddress import ip_network

    assert Settings().trusted_proxies == ()
    monkeypatch.setenv("ASTRALYTIQ_TRUSTED_PROXIES", " 10.0.0.0/8, 172.18.0.5 ,fd00::/8")
    assert Settings().trusted_proxies == (
        ip_network("10.0.0.0/8"),
        ip_network("172.18.0.5/32"),
        ip_network("fd00::/8"),
    )
    monkeypatch.setenv("ASTRALYTIQ_TRUSTED_PROXIES", "")
    assert Settings().trusted_proxies == ()  # trust no proxy


@pytest.mark.parametrize("value", ["portal", "10.0.0.300", "10.0.0.0/33", "127.0.0.1;10.0.0.1"])
def test_a_malformed_trusted_proxy_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ASTRALYTIQ_TRUSTED_PROXIES", f"127.0.0.1,{value}")
    with pytest.raises(ValidationError, match=r"ASTRALYTIQ_TRUSTED_PROXIES: .* is not an IP address or CIDR"):
        Settings()
