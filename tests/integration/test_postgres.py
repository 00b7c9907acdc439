"""The app database on the PostgreSQL running on this machine (ASTRALYTIQ_DATABASE_URL)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from tests.support.postgres import PostgresDatabase


def test_migrations_create_the_schema_idempotently(postgres_database: PostgresDatabase) -> None:
    from astralytiq.db import upgrade_database

    upgrade_database(postgres_database.url)
    upgrade_database(postgres_database.url)
    engine = create_engine(postgres_database.url)
    assert {"users", "api_keys", "drift_reports", "audit_log", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_login_through_the_api_with_users_in_postgres(
    postgres_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from astralytiq.accounts import create_user
    from astralytiq.db import upgrade_database
    from astralytiq.settings import Settings
    from serving.app import create_app

    upgrade_database(postgres_database.url)
    create_user(postgres_database.url, "ana", "a-long-password", "engineer")
    # No MLflow here: the API must still start, log people in and report the registry as down.
    settings = Settings(
        database_url=postgres_database.url, data_dir=tmp_path, mlflow_tracking_uri="http://127.0.0.1:9"
    )
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/auth/token", data={"username": "ana", "password": "a-long-password"})
        assert response.status_code == 200 and response.json()["role"] == "engineer"
        me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
        assert me.json() == {"username": "ana", "role": "engineer", "kind": "user"}
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "ok"
        assert ready.json()["registry"].startswith("error")
