"""The Prefect deployments `astralytiq worker` serves: training, monitoring and forecasting of every
dataset spec.

One ``train/<dataset>`` deployment (on the spec's cron ``schedule``, if any), one
``monitor/<dataset>`` and one ``forecast/<dataset>`` (on ``forecast_schedule``, if any) per spec
in the datasets folder; runs are triggered from the
schedule, `astralytiq run train <dataset>`, the API (``POST /v1/pipelines/train``), the Prefect
UI or `prefect deployment run train/<dataset>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_contracts.spec import SpecError, available_datasets, load_spec

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment


@dataclass(frozen=True)
class DeploymentPlan:
    """What the worker will serve, and the specs it had to leave out (with the reason)."""

    deployments: list[RunnerDeployment]
    skipped: dict[str, str]


def plan_deployments(datasets_dir: Path) -> DeploymentPlan:
    """A train, a monitor and a forecast deployment per valid spec; an invalid spec is skipped, not fatal,
    so one broken YAML file does not stop the schedules of every other dataset."""
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    from flows.forecast_flow import forecast_flow
    from flows.monitor import monitor_flow
    from flows.train import train_flow

    def deployment(flow: Flow[..., Any], **options: Any) -> RunnerDeployment:
        # By module path, not file path: the flow-run subprocess imports the installed package,
        # whatever the worker's working directory is (in the images it is not the source tree).
        made = flow.to_deployment(entrypoint_type=EntrypointType.MODULE_PATH, **options)
        assert isinstance(made, RunnerDeployment)  # called outside an event loop: never a coroutine
        return made

    deployments: list[RunnerDeployment] = []
    skipped: dict[str, str] = {}
    for name in available_datasets(datasets_dir):
        try:
            spec = load_spec(name, datasets_dir)
        except SpecError as exc:
            skipped[name] = str(exc)
            continue
        # The file's stem is what the flows resolve a dataset by (<datasets_dir>/<name>.yaml).
        parameters = {"dataset": name}
        deployments.append(
            deployment(train_flow, name=name, parameters=parameters, cron=spec.schedule, tags=["train"])
        )
        deployments.append(deployment(monitor_flow, name=name, parameters=parameters, tags=["monitor"]))
        deployments.append(
            deployment(
                forecast_flow,
                name=name,
                parameters=parameters,
                cron=spec.forecast_schedule,
                tags=["forecast"],
            )
        )
    return DeploymentPlan(deployments, skipped)


def serve_datasets(datasets_dir: Path, echo: Callable[[str], None]) -> None:
    """Register the deployments with the Prefect server and run their flow runs until stopped."""
    from prefect import serve

    plan = plan_deployments(datasets_dir)
    for name, reason in plan.skipped.items():
        echo(f"skipping dataset {name}: {reason}")
    if not plan.deployments:
        raise SpecError(
            f"no valid dataset spec in {datasets_dir}: add a <name>.yaml there "
            "(or point ASTRALYTIQ_DATASETS_DIR at the folder that holds them)"
        )
    for deployment in plan.deployments:
        echo(f"serving {deployment.full_name}")
    # Schedules belong to the specs, not to one worker process: a restarting worker pod must not
    # pause them (the default of `serve`), scheduled runs wait for the next worker instead.
    serve(*plan.deployments, pause_on_shutdown=False, print_starting_message=False)
