"""The `astralytiq` command: every workflow of the platform, each with its own --help.

A command is a function in a module of ``cli/commands/`` (its docstring is its --help); it is
listed here, once. Commands start from ``cli.context.context()`` and import the heavy packages
(pandas, Prefect, MLflow) inside the function: `astralytiq serve` runs in the API image, which
has none of them.
"""

from __future__ import annotations

import typer

from cli.commands import contracts, database, flows, keys, run, servers, users

app = typer.Typer(
    help="AstralytiQ: time-series forecasting from data contract to served champion.\n\n"
    "Start with `astralytiq up`; every setting is an ASTRALYTIQ_* environment variable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.command()(servers.up)
app.command()(flows.train)
app.command()(flows.monitor)
app.command("simulate-drift")(flows.simulate_drift)
app.command()(contracts.validate)
app.command()(servers.serve)
app.command()(servers.portal)
app.command()(servers.mlflow)
app.command()(servers.worker)
app.add_typer(users.app, name="users")
app.add_typer(keys.app, name="keys")
app.add_typer(database.db_app, name="db")
app.add_typer(database.datasets_app, name="datasets")
app.add_typer(run.app, name="run")


def main() -> None:
    from astralytiq.private_files import restrict_new_files

    restrict_new_files()  # the data folder's databases, keys and logs: the owner's only
    app()
