"""Alembic migrations of the app database (`astralytiq db upgrade` applies them)."""
