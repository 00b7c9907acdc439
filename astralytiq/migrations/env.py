"""Alembic environment: the URL comes from the caller's config, the schema from astralytiq.db."""

from alembic import context

from astralytiq.db import Base, create_engine

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
            context.run_migrations()
    engine.dispose()
