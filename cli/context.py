"""What every command starts from, done once per process: the settings (invalid ones refused with
the field at fault), Prefect pointed at the data folder before Prefect is imported, and the app
database migrated. Commands turn the errors a user can meet into one red line with ``refused``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from astralytiq.audit import Actor
    from astralytiq.settings import Settings

_migrated: set[str] = set()  # app database URLs already brought to the newest revision


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def context(*, prefect: bool = False, database: bool = False) -> Settings:
    """The settings; with ``prefect`` Prefect's environment is set from them (call it before
    anything imports Prefect), with ``database`` the app database is migrated (once)."""
    from pydantic import ValidationError

    from astralytiq.private_files import tighten
    from astralytiq.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        fail(
            "invalid settings: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        )
    tighten(settings.data_dir)  # a data folder made before with wider rights: 0700, files 0600
    if prefect:
        from astralytiq.prefect_env import configure_prefect

        configure_prefect(settings)
    if database and settings.app_database_url not in _migrated:
        from astralytiq.db import upgrade_database

        upgrade_database(settings.app_database_url)
        _migrated.add(settings.app_database_url)
    return settings


@contextmanager
def refused(*errors: type[Exception]) -> Iterator[None]:
    """Errors a user can meet (a bad spec, a failed contract, MLflow down) become ``error: ...``
    and exit 1; their messages already say what was wrong and how to fix it."""
    try:
        yield
    except errors as exc:
        fail(str(exc))


def cli_actor() -> Actor:
    """Changes made at the command line are audited under the OS user who made them."""
    import getpass

    from astralytiq.audit import Actor

    return Actor(f"cli:{getpass.getuser()}", "cli")
