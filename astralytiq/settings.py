"""One typed settings object for every AstralytiQ component.

Every value comes from the environment (prefix ``ASTRALYTIQ_``) or a ``.env`` file; the defaults
are the embedded, single-machine platform: everything lives under one data folder.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ByteSize, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets that appear in docs and examples; refusing them outside development keeps a copied
# example configuration from reaching production with a public signing key.
KNOWN_DEFAULT_SECRETS = frozenset({"changethis", "change-me", "secret", "dev-secret"})
MIN_SECRET_BYTES = 32
MIN_WEBHOOK_TOKEN_BYTES = 24
DEFAULT_PRODUCTION_METRICS_PORT = 9464  # Prometheus' registered default for exporters


class Settings(BaseSettings):
    """AstralytiQ configuration. Production differs from the embedded default only here."""

    model_config = SettingsConfigDict(
        env_prefix="ASTRALYTIQ_", env_file=".env", extra="ignore", validate_default=True
    )

    environment: Literal["development", "test", "production"] = Field(
        "development", description="'production' refuses default or short secrets."
    )
    data_dir: Path = Field(
        Path(".astralytiq"), description="Folder for every embedded store (databases, artifacts)."
    )
    datasets_dir: Path = Field(Path("datasets"), description="Folder holding dataset specs (<name>.yaml).")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the app database; empty means SQLite in data_dir."
    )

    mlflow_tracking_uri: str = Field(
        "http://127.0.0.1:5000", description="MLflow tracking server the flows and the API use."
    )
    mlflow_backend_store_uri: str = Field(
        "", description="Store of the MLflow server `astralytiq up` starts; empty: SQLite."
    )
    mlflow_artifacts_destination: str = Field(
        "", description="Artifact root of that MLflow server; empty: a folder in data_dir."
    )
    prefect_api_url: str = Field(
        "", description="Prefect API; empty: `up` starts a local Prefect server on port 4200."
    )
    prefect_ui_url: str = Field(
        "",
        description="Prefect's UI (e.g. http://127.0.0.1:4200), for links to flow runs; empty: no links "
        "(`up` sets it to the Prefect server it starts).",
    )

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_url: str = Field("", description="Where the portal finds the API; empty: api_host:port.")
    portal_port: int = Field(8501, ge=1, le=65535)
    mlflow_port: int = Field(5000, ge=1, le=65535)
    prefect_port: int = Field(4200, ge=1, le=65535)
    prometheus_port: int = Field(9090, ge=1, le=65535, description="Prometheus of `astralytiq up`.")
    alertmanager_port: int = Field(9093, ge=1, le=65535, description="Alertmanager of `astralytiq up`.")

    secret_key: str = Field("", description="JWT signing key; required (>= 32 bytes) outside development.")
    jwt_issuer: str = "astralytiq"
    jwt_audience: str = "astralytiq-api"
    access_token_minutes: int = Field(60, ge=1, le=24 * 60)
    admin_password: str = Field("", description="Password of the seeded admin; empty: generated.")

    train_jobs: int = Field(0, ge=0, description="Worker processes for training; 0: one per core.")
    dask_address: str = Field(
        "",
        description="Dask scheduler that per-series training runs on (tcp://host:8786); "
        "empty: a local cluster of train_jobs worker processes, started per training run.",
    )
    api_workers: int = Field(
        1,
        ge=0,
        le=64,
        description="Worker processes of the prediction API (each loads every champion and has its "
        "own render cache; metrics are summed over them); 0: one per CPU core (`make up`).",
    )
    alias_poll_seconds: float = Field(
        10.0, gt=0, description="How often the API checks whether the champion alias moved."
    )
    health_refresh_seconds: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="How often the API re-reads model health (drift, accuracy) for /metrics.",
    )
    max_request_bytes: int = Field(1_000_000, ge=1024, description="Largest accepted API body.")
    forecast_cache_mb: float = Field(
        8.0,
        ge=0,
        le=4096,
        description="Per served model, MB of rendered series forecasts the API keeps (a version's "
        "forecasts never change, so they are reused until the champion moves); 0: no cache.",
    )
    auth_recheck_seconds: float = Field(
        1.0,
        ge=0,
        le=300,
        description="How long the API trusts its last database check of an API key or user; a "
        "key revoked through another process is refused after at most this long (0: every request).",
    )
    login_max_failures_per_account: int = Field(
        5, ge=1, description="Failed logins for one username within the window before it gets 429."
    )
    login_max_failures_per_client: int = Field(
        20, ge=1, description="Failed logins from one client address within the window before 429."
    )
    login_failure_window_seconds: float = Field(
        300.0, gt=0, le=86_400, description="How long a failed login counts against the limits above."
    )
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = Field(
        (),
        description="Comma-separated addresses or CIDR networks whose X-Forwarded-For the API "
        "believes (the portal, an ingress): logins through them are throttled per browser address "
        "and audited with it. Anyone else's X-Forwarded-For is ignored. Default: none (`astralytiq "
        "up` sets loopback for the portal it starts).",
    )
    max_forecast_values: int = Field(
        200_000,
        ge=100,
        le=50_000_000,
        description="Most numbers one forecast answer may hold (a batch counts as one answer): per "
        "series, horizon x (1 + 2 x levels) plus its history points when asked for.",
    )
    render_concurrency: int = Field(
        2, ge=1, le=64, description="Large forecast answers rendered at once, off the event loop."
    )
    render_queue: int = Field(
        16, ge=0, le=10_000, description="Large answers that may wait for a renderer before 503."
    )
    report_streams: int = Field(
        4, ge=1, le=1000, description="Reports (drift HTML, Data Docs) sent at once; 503 past it."
    )
    report_stream_bytes_per_second: ByteSize = Field(
        ByteSize(5 * 1024**2), ge=64 * 1024, description="Top speed of one report stream, e.g. 5MiB."
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token Prometheus sends for /metrics on the API port (a person's token "
        "works too); empty: only people's tokens.",
    )
    alert_webhook_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token Alertmanager sends to POST /v1/alerts/webhook; empty: in "
        "development one kept in data_dir, elsewhere the receiver refuses every notification.",
    )
    alert_webhook_max_bytes: int = Field(
        256 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest Alertmanager notification the webhook receiver reads (413 past it).",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Also serve /metrics without authentication on this port (for a scraper inside "
        "the cluster); 0: no such port. Default: 9464 in production, none elsewhere.",
    )
    api_docs: bool | None = Field(
        None, description="Serve /docs, /redoc and /openapi.json; default: everywhere but production."
    )
    http_max_header_bytes: int = Field(
        32 * 1024, ge=4096, le=1024 * 1024, description="Largest request line plus headers (431 past it)."
    )
    http_header_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Time a client has to send a request's headers, from its first byte."
    )
    http_body_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="Time a client has to send a request's whole body (408 after)."
    )
    http_keepalive_seconds: float = Field(
        5.0, gt=0, le=300, description="How long an idle connection is kept open between requests."
    )
    http_max_connections: int = Field(
        1000, ge=10, le=100_000, description="Open connections (and requests) at once; 503 past it."
    )
    shutdown_drain_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="On SIGTERM, how long the API answers new requests 503 (and /readyz fails) while "
        "requests in flight finish, before it stops; 0: stop at once.",
    )
    source_max_bytes: ByteSize = Field(
        ByteSize(200 * 1024**2), description="Largest dataset file read (a spec's source.max_bytes wins)."
    )
    source_max_decompressed_bytes: ByteSize = Field(
        ByteSize(1024**3),
        description="Most bytes a dataset may expand to in memory (source.max_decompressed_bytes wins).",
    )

    @field_validator("data_dir", "datasets_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("prefect_ui_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        # It becomes a link in the portal: only a web address, never javascript: or a path.
        if value and not re.match(r"^https?://[^\s\"'<>]+$", value):
            raise ValueError(
                f"ASTRALYTIQ_PREFECT_UI_URL: {value[:80]!r} is not an http(s) address, "
                "e.g. http://127.0.0.1:4200 (or leave it empty for no links)"
            )
        return value.rstrip("/")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        networks = []  # from the environment: "127.0.0.1, 10.0.0.0/8"
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                networks.append(ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"ASTRALYTIQ_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR network; "
                    "give comma-separated addresses or networks, e.g. '127.0.0.1,::1' or "
                    "'10.0.0.0/8' (host names are not resolved)"
                ) from None
        return tuple(networks)

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        if not self.secret_key:
            raise ValueError(
                "ASTRALYTIQ_SECRET_KEY is not set; outside development it is required. Generate "
                "one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        if self.secret_key in KNOWN_DEFAULT_SECRETS:
            raise ValueError(
                "ASTRALYTIQ_SECRET_KEY is a known example value; set a random one, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"ASTRALYTIQ_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes outside "
                "development; generate one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`"
            )
        webhook = self.alert_webhook_token.get_secret_value()
        if webhook and (webhook in KNOWN_DEFAULT_SECRETS or len(webhook.encode()) < MIN_WEBHOOK_TOKEN_BYTES):
            raise ValueError(
                f"ASTRALYTIQ_ALERT_WEBHOOK_TOKEN must be a random value of at least "
                f"{MIN_WEBHOOK_TOKEN_BYTES} bytes outside development (or empty: no alert receiver); "
                "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return self

    # Derived locations: one data folder holds every embedded store.
    @property
    def app_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'app.db'}"

    @property
    def mlflow_store_uri(self) -> str:
        return self.mlflow_backend_store_uri or f"sqlite:///{self.data_dir / 'mlflow' / 'mlflow.db'}"

    @property
    def mlflow_artifacts_uri(self) -> str:
        return self.mlflow_artifacts_destination or str(self.data_dir / "mlflow" / "artifacts")

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def signing_key(self) -> str:
        """The JWT key: the configured one, else (development only) one kept in data_dir.

        Kept in a file so that tokens survive an API restart and every process of one
        embedded platform agrees on it.
        """
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()

    def metrics_bearer(self) -> str:
        """The token that reads /metrics (and /readyz's details) on the API port: the configured
        one; in development, without one, a token kept in data_dir (as the signing key is), so
        `astralytiq simulate-drift` and the tests can read the API they started; else none."""
        configured = self.metrics_token.get_secret_value()
        if configured or self.environment != "development":
            return configured
        return self._kept_token("metrics_token")

    def alert_webhook_bearer(self) -> str:
        """The token Alertmanager sends to the webhook receiver: the configured one; in
        development, without one, a token kept in data_dir (`astralytiq up` hands the same file
        to the Alertmanager it starts); else none, and the receiver refuses every call."""
        configured = self.alert_webhook_token.get_secret_value()
        if configured or self.environment != "development":
            return configured
        return self._kept_token("alert_webhook_token")

    def _kept_token(self, name: str) -> str:
        token_file = self.data_dir / name
        if not token_file.exists():
            token_file.parent.mkdir(parents=True, exist_ok=True)
            token_file.write_text(secrets.token_urlsafe(32))
            token_file.chmod(0o600)
        return token_file.read_text().strip()

    @property
    def metrics_listen_port(self) -> int:
        """The unauthenticated metrics port (0: none): a scraper inside the cluster reads it,
        while the API port's /metrics asks for a token."""
        if self.metrics_port is not None:
            return self.metrics_port
        return DEFAULT_PRODUCTION_METRICS_PORT if self.environment == "production" else 0

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.environment != "production"

    @property
    def resolved_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import)."""
    return Settings()
