"""The app database's Alembic migrations on the real PostgreSQL: every revision, automatically.

Revisions are listed from the migrations folder at collection time, so a new revision is tested
here (upgrade from its predecessor to head, downgrade and upgrade again) without editing this file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from astralytiq import migrations

pytestmark = pytest.mark.integration

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def alembic_config(url: str) -> Config:
    """The configuration astralytiq.db.upgrade_database builds."""
    config = Config()
    config.set_main_option("script_location", str(migrations.__path__[0]))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


SCRIPTS = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
REVISIONS: list[Script] = list(reversed(list(SCRIPTS.walk_revisions())))  # base first


@pytest.fixture
def database_url() -> Iterator[str]:
    name = f"astralytiq_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def schema(url: str) -> dict[str, Any]:
    """Tables with their columns (name, type, nullability) and indexes: what a migration changes."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)
                ),
            }
            for table in sorted(inspector.get_table_names())
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def previous(script: Script) -> str:
    down = script.down_revision
    assert not isinstance(down, tuple | list), f"{script.revision} merges branches; keep the chain linear"
    return down or "base"


def test_one_linear_chain_of_revisions() -> None:
    assert len(SCRIPTS.get_heads()) == 1, f"several heads {SCRIPTS.get_heads()}: re-point down_revision"
    assert REVISIONS and REVISIONS[0].down_revision is None


def test_upgrade_from_empty_matches_the_models(database_url: str) -> None:
    """Head's schema is exactly what astralytiq.db's models declare (autogenerate finds nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from astralytiq.db import Base, upgrade_database

    upgrade_database(database_url)
    assert current_revision(database_url) == SCRIPTS.get_current_head()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == [], f"models and migrations differ; add a revision: {differences}"


@pytest.mark.parametrize("script", REVISIONS, ids=[s.revision for s in REVISIONS])
def test_upgrade_from_the_previous_revision_to_head(database_url: str, script: Script) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, previous(script))
    engine = create_engine(database_url)
    with engine.begin() as conn:  # a row written before the upgrade must survive it
        if previous(script) != "base" and inspect(conn).has_table("users"):
            conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, role, is_active, created_at) "
                    "VALUES ('kept', 'x', 'viewer', true, now())"
                )
            )
    engine.dispose()
    command.upgrade(config, "head")
    assert current_revision(database_url) == SCRIPTS.get_current_head()
    if previous(script) != "base" and "users" in schema(database_url):
        engine = create_engine(database_url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM users WHERE username = 'kept'")) == 1
        engine.dispose()


@pytest.mark.parametrize("script", REVISIONS, ids=[s.revision for s in REVISIONS])
def test_downgrade_restores_the_previous_schema(database_url: str, script: Script) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, previous(script))
    before = schema(database_url)
    command.upgrade(config, script.revision)
    after = schema(database_url)
    try:
        command.downgrade(config, previous(script))
    except NotImplementedError:
        pytest.skip(f"revision {script.revision} defines no downgrade")
    assert schema(database_url) == before
    command.upgrade(config, script.revision)  # and the way up works again after the way down
    assert schema(database_url) == after
