"""The app database's Alembic migrations on the real PostgreSQL: every revision, automatically.

Revisions are listed from the migrations folder at collection time, so a new revision is tested
here (upgrade from its predecessor to head, downgrade and upgrade again) without editing this file.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from sqlalchemy import JSON, Column, MetaData, create_engine, insert, inspect, text

from astralytiq import migrations
from tests.support.postgres import PostgresDatabase


def alembic_config(url: str) -> Config:
    """The configuration astralytiq.db.upgrade_database builds."""
    config = Config()
    config.set_main_option("script_location", str(migrations.__path__[0]))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


SCRIPTS = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
REVISIONS: list[Script] = list(reversed(list(SCRIPTS.walk_revisions())))  # base first


@pytest.fixture
def database_url(postgres_database: PostgresDatabase) -> str:
    return postgres_database.url


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
    # The seeding the upgrade tests rely on works on head's schema, so the next revision's
    # upgrade test really carries a row in every table across it.
    tables = set(schema(database_url))
    assert seed_every_table(database_url) == dict.fromkeys(tables, 1)
    assert row_counts(database_url, sorted(tables)) == dict.fromkeys(tables, 1)


# Values that satisfy a CHECK constraint or an application rule a type alone cannot tell.
SAMPLE_VALUES: dict[tuple[str, str], Any] = {("users", "role"): "viewer", ("api_keys", "role"): "viewer"}


def sample_value(table: str, column: Column[Any]) -> Any:
    """A valid value of the column's type, for a row that exists before an upgrade."""
    if (table, column.name) in SAMPLE_VALUES:
        return SAMPLE_VALUES[(table, column.name)]
    enums = getattr(column.type, "enums", None)
    if enums:
        return enums[0]
    if isinstance(column.type, JSON):  # its python_type is `object`
        return {"kept": True}
    python_type = column.type.python_type
    samples: dict[type, Any] = {
        bool: True,
        int: 1,
        float: 1.5,
        Decimal: Decimal("1.5"),
        str: "kept"[: getattr(column.type, "length", None) or None],
        bytes: b"kept",
        datetime: datetime.now(UTC),
        date: date.today(),
        uuid.UUID: uuid.uuid4(),
    }
    return samples[python_type]


def seed_every_table(url: str) -> dict[str, int]:
    """One row in every table of the current schema, parents before children (foreign keys
    point at the parent's row). Returns the tables seeded and their row counts."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    counts = {}
    with engine.begin() as conn:
        inserted: dict[str, dict[str, Any]] = {}
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            row = {}
            for column in table.columns:
                if column.primary_key and column.autoincrement in (True, "auto") and not column.foreign_keys:
                    continue  # the database numbers it
                (foreign_key, *_) = column.foreign_keys or [None]
                if foreign_key is not None:
                    row[column.name] = inserted[foreign_key.column.table.name][foreign_key.column.name]
                else:
                    row[column.name] = sample_value(table.name, column)
            result = conn.execute(insert(table).values(row).returning(*table.columns))
            inserted[table.name] = dict(result.one()._mapping)
            counts[table.name] = 1
    engine.dispose()
    return counts


def row_counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = create_engine(url)
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        counts = {t: conn.scalar(text(f'SELECT count(*) FROM "{t}"')) for t in tables if t in present}
    engine.dispose()
    return counts


@pytest.mark.parametrize("script", REVISIONS, ids=[s.revision for s in REVISIONS])
def test_upgrade_from_the_previous_revision_to_head(database_url: str, script: Script) -> None:
    """Rows written at the previous revision survive the upgrade, in every table that remains."""
    config = alembic_config(database_url)
    command.upgrade(config, previous(script))
    seeded = seed_every_table(database_url) if previous(script) != "base" else {}
    command.upgrade(config, "head")
    assert current_revision(database_url) == SCRIPTS.get_current_head()
    kept = row_counts(database_url, list(seeded))
    assert kept == {table: seeded[table] for table in kept}, "an upgrade lost rows"
    if previous(script) != "base":
        assert seeded and kept, "nothing was seeded before the upgrade"


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


# Imports first, then every process waits for the same signal (a file), so their upgrades overlap.
CONCURRENT_UPGRADE = """
import os, sys, time
from astralytiq.db import upgrade_database
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
upgrade_database(sys.argv[1])
"""


@pytest.mark.slow
def test_concurrent_upgrades_from_empty_all_succeed(database_url: str, tmp_path: Path) -> None:
    """API replicas and the worker start together and each migrates on start: none may fail."""
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_UPGRADE, database_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", process.communicate()[0][-3000:]
    go.touch()
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    failed = [out for process, out in zip(processes, outputs, strict=True) if process.returncode != 0]
    assert not failed, failed[0][-3000:]
    assert current_revision(database_url) == SCRIPTS.get_current_head()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_accounts_differing_only_in_case_are_kept_apart_by_0004(
    database_url: str, tmp_path: Path, backend: str
) -> None:
    """Before 0004 "Ana" and "ana" could be two accounts. The upgrade keeps the oldest as it is,
    renames the others "<name>-<id>" (audited), and from then on a name is unique in any case."""
    url = database_url if backend == "postgresql" else f"sqlite:///{tmp_path / 'app.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0003")
    engine = create_engine(url)
    columns = "username, password_hash, role, is_active, created_at"
    with engine.begin() as conn:
        for name in ("Ana", "ana", "ANA", "bob", "ana-2"):
            conn.execute(
                text(f"INSERT INTO users ({columns}) VALUES (:name, 'x', 'viewer', true, :at)"),
                {"name": name, "at": datetime.now(UTC)},
            )
    command.upgrade(config, "0004")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, username, username_folded, token_version FROM users ORDER BY id")
        ).all()
        renames = conn.execute(
            text("SELECT target, detail FROM audit_log WHERE action = 'user.rename' ORDER BY id")
        ).all()
    names = [r.username for r in rows]
    assert names[0] == "Ana" and names[3:] == ["bob", "ana-2"]
    assert names[1] == f"ana-{rows[1].id}" or names[1].startswith("ana-")
    assert len({n.lower() for n in names}) == len(names)  # no two accounts answer to one login
    assert all(r.username_folded == r.username.lower() and r.token_version == 0 for r in rows)
    assert [r.target for r in renames] == names[1:3]
    with pytest.raises(Exception, match=r"(?i)unique"), engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO users ({columns}, username_folded, token_version) VALUES ('BOB', 'x', 'viewer', true, :at, 'bob', 0)"
            ),
            {"at": datetime.now(UTC)},
        )
    engine.dispose()
