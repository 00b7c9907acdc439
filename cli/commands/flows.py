"""The flows run here and now: `train`, `monitor` and `simulate-drift`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cli.commands.arguments import DatasetArg
from cli.context import context, fail
from cli.flow_logs import tracebacks_to_file

if TYPE_CHECKING:
    from astralytiq.settings import Settings


def _flow_errors() -> tuple[type[Exception], ...]:
    """What stops a flow with a message for the user (imported late: they pull in pandas)."""
    from data_contracts.spec import SpecError
    from data_contracts.validation import ContractViolation
    from registry.tracking import TrackingUnavailable

    return SpecError, ContractViolation, TrackingUnavailable, ValueError


@contextmanager
def flow_run(settings: Settings, command: str) -> Iterator[None]:
    """Run a flow here: progress on the console; if it fails, the reason in one red line and
    Prefect's tracebacks in ``<data dir>/logs/<command>.log``."""
    with tracebacks_to_file(settings.data_dir / "logs" / f"{command}.log") as log:
        try:
            yield
        except _flow_errors() as exc:
            fail(f"{exc}\n(details: {log})")


def train(
    dataset: DatasetArg,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Use data up to this date only (overrides the spec's training.until)."
        ),
    ] = None,
    jobs: Annotated[int, typer.Option(min=0, help="Worker processes; 0 = one per CPU core.")] = 0,
) -> None:
    """Run the training flow: contract check, backtest of every candidate, per-series selection,
    MLflow run and a registered model version (champion if it beats the current one)."""
    settings = context(prefect=True)
    from flows.train import train_flow

    with flow_run(settings, "train"):
        result = train_flow(dataset=dataset, until=until.date() if until else None, n_jobs=jobs)
    verdict = "now champion" if result.promoted else "registered as challenger"
    typer.echo(f"{result.model_name} v{result.version}: {verdict} ({result.reason})")


def monitor(dataset: DatasetArg) -> None:
    """Run the monitoring flow: drift of the newest actuals against the champion's training window."""
    settings = context(prefect=True, database=True)
    from flows.monitor import monitor_flow
    from flows.outcomes import Retrained, RetrainTriggered

    with flow_run(settings, "monitor"):
        result = monitor_flow(dataset=dataset)
    if result.drift_share is None:
        typer.echo(f"{result.model_name} v{result.version}: no new actuals since training; nothing to check")
        return
    typer.echo(
        f"{result.model_name} v{result.version}: {result.status} (drifted share {result.drift_share:.0%})"
    )
    if isinstance(result.retrain, RetrainTriggered):
        typer.echo(f"drift above the threshold: training run {result.retrain.flow_run_id} triggered")
    elif isinstance(result.retrain, Retrained):
        training = result.retrain.training
        typer.echo(f"drift above the threshold: retrained, v{training.version} is {training.alias}")


def simulate_drift(
    dataset: DatasetArg,
    factor: Annotated[
        float, typer.Option(min=0.01, help="Multiply the newest actuals (target and covariates) by this.")
    ] = 1.6,
    api_url: Annotated[
        str,
        typer.Option(
            help="The running API whose /metrics and /readyz are watched (default: ASTRALYTIQ_API_URL)."
        ),
    ] = "",
    prometheus_url: Annotated[
        str, typer.Option(help="A Prometheus loading infra/prometheus/alerts.yml: wait for its drift alert.")
    ] = "",
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for a triggered retrain to move the champion.")
    ] = 600.0,
) -> None:
    """Shift DATASET's newest actuals and watch the loop: drift detected, alert condition true,
    retrain triggered, new champion served. The committed data is not touched: the shifted copy
    and a spec reading it go to <data dir>/simulated/<dataset>/. Exits 1 if a stage did not happen."""
    settings = context(prefect=True, database=True)
    from cli.drift_demo import run_drift_loop

    with flow_run(settings, "simulate-drift"):
        report = run_drift_loop(
            settings,
            dataset,
            factor,
            typer.echo,
            api_url=api_url or settings.resolved_api_url,
            prometheus_url=prometheus_url or None,
            wait_seconds=wait,
        )
    missing = [stage for stage, happened in report.stages.items() if not happened]
    if missing:
        fail(f"the loop stopped short: {', '.join(missing)} did not happen")
    typer.echo("the loop closed: drift detected, alert raised, retrained, new champion served")
