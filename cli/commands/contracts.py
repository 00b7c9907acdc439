"""`validate`: a dataset's data contract checked now, every rule in a table."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.commands.arguments import DatasetArg
from cli.context import context, refused

if TYPE_CHECKING:
    from data_contracts.report import ContractReport


def validate(
    dataset: DatasetArg,
    report_dir: Annotated[
        Path | None,
        typer.Option(help="Where to write the GX Data Docs and report.json; default: the reports folder."),
    ] = None,
    quarantine: Annotated[
        bool | None,
        typer.Option(
            "--quarantine/--strict",
            help="Override the contract's mode: set failing rows aside, or refuse on any failure.",
        ),
    ] = None,
) -> None:
    """Check a dataset against its data contract now and print a table of every rule.

    Loads the source the spec names (with its size caps), runs the contract as a Great
    Expectations checkpoint and writes the Data Docs. Exits 0 when the data passes, 1 when the
    contract fails or the source is refused (the reason names the column and the rule).
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    from data_contracts.contract import load_contract_for
    from data_contracts.guards import ReadLimits
    from data_contracts.quarantine import enforce_contract
    from data_contracts.sources import DataSourceError, read_dataset
    from data_contracts.spec import SpecError, load_spec

    settings = context()
    with refused(SpecError, DataSourceError):
        spec = load_spec(dataset, settings.datasets_dir)
        contract = load_contract_for(spec)
        if quarantine is not None:
            contract = contract.model_copy(update={"quarantine": quarantine})
        limits = ReadLimits(
            max_bytes=int(settings.source_max_bytes),
            max_decompressed_bytes=int(settings.source_max_decompressed_bytes),
        )
        rows = read_dataset(spec, limits)
    docs_dir = report_dir or settings.reports_dir / "contracts" / spec.name
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    quarantine_path = settings.reports_dir / "quarantine" / spec.name / f"validate-{stamp}.csv"
    report = enforce_contract(rows, contract, spec.frequency, docs_dir, quarantine_path).report
    print_report(report)
    raise typer.Exit(0 if report.success else 1)


def print_report(report: ContractReport) -> None:
    """The contract's verdict as a table. Dataset, column and rule texts come from files and
    users, so they are printed as plain text (``escape``), never read as rich markup."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(
        title=escape(f"Data contract {report.dataset!r}: {report.rows:,} rows, {report.series:,} series")
    )
    for name in ("rule", "column", "expects", "result"):
        table.add_column(name, overflow="fold")
    for result in report.results:
        verdict = "[green]pass[/]" if result.success else f"[red]FAIL[/] {escape(result.message)}"
        table.add_row(escape(result.rule), escape(result.column), escape(result.expectation), verdict)
    console.print(table)
    if report.quarantined:
        console.print(escape(f"{report.quarantined} row(s) set aside: {report.quarantine_file}"))
    console.print(escape(report.summary().splitlines()[0]), style="green" if report.success else "red")
    if report.docs_dir and report.validation_page:
        console.print(escape(f"report: {report.docs_dir / report.validation_page}"))
