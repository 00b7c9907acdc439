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
    import yaml

    from astralytiq import dataset_store
    from data_contracts.contract import Contract
    from data_contracts.propose import propose
    from data_contracts.sources import DataSourceError, load_dataset
    from data_contracts.spec import DatasetSpec, SpecError, read_yaml
    from data_contracts.validation import run_contract

    settings = context(database=True)
    with refused(dataset_store.DatasetStoreError, SpecError, DataSourceError, ValueError):
        dataset_store.check_name(name)
        kind = "parquet" if dataset_store.data_file_name(data).endswith(".parquet") else "csv"
        source = {"kind": kind, "path": str(data.resolve())}
        columns = {"series_id": series_id, "ds": ds, "y": y}
        covariates = list(covariate or [])

        def spec_of(freq: str, season: int, steps: int) -> DatasetSpec:
            body = {
                "name": name,
                "source": source,
                "columns": columns,
                "covariates": covariates,
                "frequency": freq,
                "season_length": season,
                "horizon": steps,
            }
            return DatasetSpec.model_validate({**body, **({"schedule": schedule} if schedule else {})})

        frame = load_dataset(spec_of(frequency or "D", 1, 1))
        proposal = propose(name, frame, covariates, frequency or None)
        spec = spec_of(
            proposal.frequency, season_length or proposal.season_length, horizon or proposal.horizon
        )
        terms = read_yaml(contract) if contract is not None else proposal.contract
        checked = Contract.model_validate({**terms, "dataset": name})
    stored_spec = spec.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    stored_spec["source"] = {"kind": kind, "path": dataset_store.data_file_name(data)}
    stored_spec["contract"] = dataset_store.CONTRACT_FILE
    spec_yaml = yaml.safe_dump(stored_spec, sort_keys=False)
    contract_yaml = yaml.safe_dump(checked.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    if dry_run:
        typer.echo(f"# spec\n{spec_yaml}\n# contract\n{contract_yaml}")
        return
    report = run_contract(frame, checked, spec.frequency)
    if not report.success:
        fail(f"not added: {report.summary()}")
    with refused(dataset_store.DatasetStoreError):
        dataset_store.add(settings, name, spec_yaml, contract_yaml, data, cli_actor())
    series = frame["series_id"].nunique()
    typer.echo(
        f"added {name}: {len(frame)} rows, {series} series, frequency {spec.frequency}, season length "
        f"{spec.primary_season_length}, horizon {spec.horizon}; contract passed ({len(report.results)} rules)"
    )
    typer.echo(f"train it: astralytiq train {name} (a running worker serves train/{name} within 15 s)")
