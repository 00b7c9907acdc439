"""`db upgrade`, `datasets list` and `datasets add`: the app database and the datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.context import cli_actor, context, fail, refused

db_app = typer.Typer(
    help="The app database (users, API keys, drift history, audit log).", no_args_is_help=True
)
datasets_app = typer.Typer(
    help="Datasets: YAML specs in ASTRALYTIQ_DATASETS_DIR and those added at run time.", no_args_is_help=True
)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (safe to run repeatedly)."""
    context(database=True)
    typer.echo("app database is at the newest revision")


@datasets_app.command("list")
def datasets_list() -> None:
    """List the datasets, their frequency, horizon and schedule (added ones marked "added")."""
    from astralytiq import dataset_store
    from data_contracts.spec import SpecError
    from flows.dataset_specs import all_datasets, load_dataset_spec

    settings = context(database=True)
    added = set(dataset_store.names(settings))
    for name in all_datasets(settings):
        where = "added" if name in added else "yaml"
        try:
            spec = load_dataset_spec(name, settings)
            typer.echo(
                f"{name:<20} freq={spec.frequency:<6} horizon={spec.horizon:<4} "
                f"schedule={spec.schedule or '-':<12} {where}"
            )
        except SpecError as exc:
            typer.echo(f"{name:<20} INVALID: {exc}")


@datasets_app.command("add")
def datasets_add(
    name: Annotated[str, typer.Argument(help="Dataset name: lower-case letters, digits and _.")],
    data: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="The data: a CSV (.csv, .csv.gz) or Parquet file."),
    ],
    series_id: Annotated[str, typer.Option(help="Column holding the series id.")] = "series_id",
    ds: Annotated[str, typer.Option(help="Column holding the timestamp.")] = "ds",
    y: Annotated[str, typer.Option(help="Column holding the value to forecast.")] = "y",
    covariate: Annotated[
        list[str] | None, typer.Option(help="A numeric column known ahead (repeat for several).")
    ] = None,
    frequency: Annotated[
        str, typer.Option(help="pandas frequency (D, W-SUN, MS, h); default: from the data.")
    ] = "",
    season_length: Annotated[int, typer.Option(min=0, help="Observations per cycle; 0: proposed.")] = 0,
    horizon: Annotated[int, typer.Option(min=0, help="Steps to forecast; 0: proposed from the data.")] = 0,
    contract: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="A contract YAML file; default: proposed from the data."
        ),
    ] = None,
    schedule: Annotated[str, typer.Option(help="Cron schedule of training, e.g. '0 6 * * 1'.")] = "",
    dry_run: Annotated[
        bool, typer.Option(help="Print the proposed spec and contract; store nothing.")
    ] = False,
) -> None:
    """Add a dataset at run time: read the data, propose frequency, season length, horizon and a
    contract (or take yours), check the data against them, and store it (app database and data
    folder) only if it passes. The worker serves its deployments without a restart."""
    from astralytiq import dataset_store
    from data_contracts.report import ContractViolation
    from data_contracts.sources import DataSourceError
    from data_contracts.spec import SpecError, read_yaml
    from flows.intake import DatasetRequest, add_dataset, check_dataset

    settings = context(database=True)
    refusals = (dataset_store.DatasetStoreError, SpecError, DataSourceError, ValueError)
    with refused(*refusals):
        request = DatasetRequest(
            name=name,
            data=data,
            series_id=series_id,
            ds=ds,
            y=y,
            covariates=tuple(covariate or ()),
            frequency=frequency,
            season_length=season_length,
            horizon=horizon,
            contract=read_yaml(contract) if contract is not None else None,
            schedule=schedule,
        )
    try:
        if dry_run:
            checked = check_dataset(request)
            typer.echo(f"# spec\n{checked.spec_yaml}\n# contract\n{checked.contract_yaml}")
            return
        added = add_dataset(settings, request, cli_actor())
    except ContractViolation as exc:
        fail(f"not added: {exc}")
    except refusals as exc:
        fail(str(exc))
    typer.echo(
        f"added {added.name}: {added.rows} rows, {added.series} series, frequency {added.frequency}, "
        f"season length {added.season_length}, horizon {added.horizon}; contract passed ({added.rules} rules)"
    )
    typer.echo(f"train it: astralytiq train {name} (a running worker serves train/{name} within 15 s)")
