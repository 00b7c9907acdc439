"""`db upgrade` and `datasets list`: the app database and the dataset specs."""

from __future__ import annotations

import typer

from cli.context import context

db_app = typer.Typer(
    help="The app database (users, API keys, drift history, audit log).", no_args_is_help=True
)
datasets_app = typer.Typer(help="Dataset specs found in ASTRALYTIQ_DATASETS_DIR.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (safe to run repeatedly)."""
    context(database=True)
    typer.echo("app database is at the newest revision")


@datasets_app.command("list")
def datasets_list() -> None:
    """List the datasets, their frequency, horizon and schedule."""
    from data_contracts.spec import SpecError, available_datasets, load_spec

    settings = context()
    for name in available_datasets(settings.datasets_dir):
        try:
            spec = load_spec(name, settings.datasets_dir)
            typer.echo(
                f"{name:<20} freq={spec.frequency:<6} horizon={spec.horizon:<4} schedule={spec.schedule or '-'}"
            )
        except SpecError as exc:
            typer.echo(f"{name:<20} INVALID: {exc}")
