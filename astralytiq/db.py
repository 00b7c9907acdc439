"""The app database: users, API keys, drift and accuracy history, monitoring runs, alerts, the audit log.

SQLite in the data folder by default, PostgreSQL (or any SQLAlchemy URL) in production; the
schema is owned by the Alembic migrations in ``astralytiq/migrations``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, event, inspect, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # as its owner wrote it
    # The login key: usernames are ASCII, and "Ana" and "ana" are one account (one throttle, one row).
    username_folded: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # admin | engineer | viewer
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Carried by every token issued to the user; bumped by a disable, a role or a password change,
    # so every token issued before is refused (re-enabling the user does not revive them).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # The prefix identifies a key in logs and lookups; only a hash of the whole key is stored.
    prefix: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    models: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty list: every model
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Written at most once a minute per key (see serving.access), so a busy key costs no writes.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DriftReport(Base):
    __tablename__ = "drift_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reference_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reference_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    current_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    current_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    drift_share: Mapped[float] = mapped_column(Float)
    dataset_drift: Mapped[bool] = mapped_column(Boolean)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)  # feature -> {score, drifted, method}
    report_path: Mapped[str] = mapped_column(Text)


class AccuracyReport(Base):
    """Live accuracy of a champion's stored forecast once actuals arrived (monitoring.accuracy)."""

    __tablename__ = "accuracy_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(32))
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    mase: Mapped[float] = mapped_column(Float)
    wape: Mapped[float] = mapped_column(Float)  # percent
    coverage: Mapped[dict[str, float]] = mapped_column(JSON)  # level ("80") -> share inside, 0-1
    n_series: Mapped[int] = mapped_column(Integer)
    n_points: Mapped[int] = mapped_column(Integer)


class MonitorRun(Base):
    """One monitoring run of a model: what it saw, for data freshness and the Prometheus gauges."""

    __tablename__ = "monitor_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    dataset: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(32))
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    newest_actual: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the latest ds in the data


class StoredDataset(Base):
    """A dataset added at run time (`astralytiq datasets add`): its spec and contract as YAML
    text, beside its data file in the dataset store (``astralytiq.dataset_store``). Every API
    replica and worker reads the same rows, so all agree on which datasets exist."""

    __tablename__ = "datasets"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    spec_yaml: Mapped[str] = mapped_column(Text)
    contract_yaml: Mapped[str] = mapped_column(Text)
    data_file: Mapped[str] = mapped_column(String(128))  # its name in the store's folder
    data_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ForecastSnapshot(Base):
    """A forecast published from newer actuals for one model version (flows.forecast_flow): the
    bundle itself sits in the model run's artifacts at ``artifact_uri``/``artifact_path``."""

    __tablename__ = "forecast_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(32))  # the first forecast date (ISO)
    actuals_end: Mapped[str] = mapped_column(String(32))  # the newest actual used (ISO)
    series_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    artifact_uri: Mapped[str] = mapped_column(Text)  # the run's artifact root
    artifact_path: Mapped[str] = mapped_column(Text)  # the bundle JSON under it
    sha256: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column(Float)  # how long the roll-forward took


class Alert(Base):
    """One alert as Alertmanager last reported it to the webhook receiver (serving.alert_inbox),
    keyed by Alertmanager's fingerprint of its labels. The portal's health page lists the firing
    ones; a resolved alert stays as its last state, so the same labels firing again reuse the row."""

    __tablename__ = "alerts"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    alertname: Mapped[str] = mapped_column(String(256), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # firing | resolved
    severity: Mapped[str] = mapped_column(String(64), default="")
    model_name: Mapped[str] = mapped_column(String(256), default="", index=True)  # the `model` label
    labels: Mapped[dict[str, str]] = mapped_column(JSON)
    annotations: Mapped[dict[str, str]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    generator_url: Mapped[str] = mapped_column(Text, default="")
    receiver: Mapped[str] = mapped_column(String(256), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    # user | api_key | cli | system: who "actor" names (a login, a key's name, an OS user).
    actor_kind: Mapped[str] = mapped_column(String(16), default="user", server_default=text("'user'"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(256), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)  # remote address, for API calls


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a flow writes; the busy timeout makes a writer wait for a lock
    # instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa_create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa_create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    return create_engine(url)


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_REVISION = re.compile(r"^revision(?:: [^=]+)? = ['\"](\w+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:: [^=]+)? = (?:None|['\"](\w+)['\"])", re.MULTILINE)


def head_revision() -> str | None:
    """The newest migration, read from the revision files without importing Alembic (about a
    second of start-up); None when the files do not give one clear head."""
    folder = Path(__file__).parent / "migrations" / "versions"
    revisions, parents = set(), set()
    for path in folder.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = get_engine(url)
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.scalar(text("SELECT version_num FROM alembic_version"))  # type: ignore[no-any-return]


def schema_is_current(url: str) -> bool:
    head = head_revision()
    return head is not None and current_revision(url) == head


def upgrade_database(url: str) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    from astralytiq import migrations

    config = Config()
    config.set_main_option("script_location", str(migrations.__path__[0]))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
