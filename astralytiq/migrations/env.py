"""Alembic environment: the URL comes from the caller's config, the schema from astralytiq.db."""

from alembic import context
from sqlalchemy import text

from astralytiq.db import Base, create_engine

# Any fixed 64-bit number, the same in every process that migrates this database.
MIGRATION_LOCK_KEY = 0x41515F4D49475241  # "AQ_MIGRA"

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "upgrade_database() sets sqlalchemy.url"

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url)
    with engine.connect() as connection:
        # render_as_batch lets ALTERs work on SQLite, which cannot alter columns in place.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # API replicas and the worker start together and each migrates on start: one at a
                # time (the lock lasts until commit), the others then find the schema at head.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            context.run_migrations()
    engine.dispose()
