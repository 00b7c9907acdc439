"""The start-up schema check agrees with Alembic, without importing it in the API process."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from astralytiq import migrations
from astralytiq.db import current_revision, head_revision, schema_is_current, upgrade_database


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations.__path__[0]))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_new_database_is_behind_until_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert current_revision(url) is None and not schema_is_current(url)
    upgrade_database(url)
    assert current_revision(url) == head_revision() and schema_is_current(url)
