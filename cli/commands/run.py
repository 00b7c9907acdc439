"""`run train|monitor`: a flow run on the Prefect server, through the deployment a worker serves."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.context import context, fail, refused

app = typer.Typer(
    help="Run a flow on the Prefect server (PREFECT_API_URL) through its deployment, and follow it.",
    no_args_is_help=True,
)

RunDatasetArg = Annotated[
    str, typer.Argument(help="Dataset name: its deployments are train/<name> and monitor/<name>.")
]
FollowOption = Annotated[
    bool, typer.Option(help="Print the run's state changes and log lines until it ends.")
]


def _run_deployment(flow: str, dataset: str, follow: bool) -> None:
    from orchestration.prefect_api import (
        DeploymentMissing,
        PrefectAPI,
        PrefectUnavailable,
        api_url,
        follow_to_end,
    )

    settings = context()
    with refused(PrefectUnavailable, DeploymentMissing):
        api = PrefectAPI(api_url(settings.prefect_api_url))
        run = api.trigger(flow, dataset)
    typer.echo(f"flow run {run.name} ({run.id}) of {flow}/{dataset}: {run.state_name}")
    if not follow:
        return
    try:
        final = follow_to_end(api, run.id, typer.echo)
    except KeyboardInterrupt:
        typer.echo(f"stopped following; the run goes on (flow run {run.id})")
        raise typer.Exit(130) from None
    except PrefectUnavailable as exc:
        fail(f"lost the Prefect server while following flow run {run.id}: {exc}")
    if final.state != "COMPLETED":
        fail(f"flow run {run.name} ended {final.state_name}: {final.message or 'see its logs'}")
    typer.echo(f"flow run {run.name} completed in {final.duration_seconds or 0:.1f} s")


@app.command("train")
def run_train(dataset: RunDatasetArg, follow: FollowOption = True) -> None:
    """Trigger the train/<dataset> deployment (served by `astralytiq worker`) and follow it.

    Exits 0 when the run completes, 1 when it fails or crashes, or when no Prefect server or
    deployment is found.
    """
    _run_deployment("train", dataset, follow)


@app.command("monitor")
def run_monitor(dataset: RunDatasetArg, follow: FollowOption = True) -> None:
    """Trigger the monitor/<dataset> deployment (served by `astralytiq worker`) and follow it."""
    _run_deployment("monitor", dataset, follow)
