"""The PostgreSQL server the tests use, named once: ASTRALYTIQ_TEST_POSTGRES_URL (default: this
machine's, trust auth). Each use gets a database of its own, uuid-named and dropped afterwards,
so parallel runs never meet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, make_url, text

SERVER_URL = os.environ.get("ASTRALYTIQ_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def url_of(database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the test server."""
    return make_url(SERVER_URL).set(database=database).render_as_string(hide_password=False)


ADMIN_URL = url_of("postgres")
_server = make_url(SERVER_URL)
HOST, PORT = _server.host or "127.0.0.1", _server.port or 5432
# user[:password]@host:port, as infra/run_production_stack.py takes it
ADDRESS = f"{_server.username}{':' + _server.password if _server.password else ''}@{HOST}:{PORT}"


@dataclass(frozen=True)
class PostgresDatabase:
    name: str
    url: str


@contextmanager
def postgres_database(prefix: str = "astralytiq_test") -> Iterator[PostgresDatabase]:
    """A fresh database on the test server, dropped (with any connections left) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PostgresDatabase(name, url_of(name))
    finally:
        from astralytiq.db import get_engine

        get_engine.cache_clear()  # pooled connections of the app's engines: gone with the database
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
