"""The Prefect deployments `astralytiq worker` serves: training, monitoring and forecasting of every
dataset spec.

One ``train/<dataset>`` deployment (on the spec's cron ``schedule``, if any), one
``monitor/<dataset>`` and one ``forecast/<dataset>`` (on ``forecast_schedule``, if any) per
dataset (a YAML spec, or one added at run time); runs come from the
schedule, `astralytiq run train <dataset>`, the API (``POST /v1/pipelines/train``), the Prefect
UI or `prefect deployment run train/<dataset>`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from astralytiq.settings import Settings
from data_contracts.spec import SpecError
from flows.dataset_specs import all_datasets, load_dataset_spec

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment


INTAKE = "intake"  # the add-dataset/intake deployment


@dataclass(frozen=True)
class DeploymentPlan:
    """What the worker will serve, and the specs it had to leave out (with the reason)."""

    deployments: list[RunnerDeployment]
    skipped: dict[str, str]


def plan_deployments(settings: Settings, skip: frozenset[str] = frozenset()) -> DeploymentPlan:
    """A train, a monitor and a forecast deployment per valid spec, and the intake of uploads; an invalid
    spec is skipped, not fatal, so one broken YAML file does not stop the schedules of every
    other dataset. ``skip``: deployments (full names) already served."""
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    from flows.forecast_flow import forecast_flow
    from flows.intake import add_dataset_flow
    from flows.monitor import monitor_flow
    from flows.train import train_flow

    def deployment(flow: Flow[..., Any], **options: Any) -> RunnerDeployment:
        # By module path, not file path: the flow-run subprocess imports the installed package,
        # whatever the worker's working directory is (in the images it is not the source tree).
        made = flow.to_deployment(entrypoint_type=EntrypointType.MODULE_PATH, **options)
        assert isinstance(made, RunnerDeployment)  # called outside an event loop: never a coroutine
        return made

    deployments: list[RunnerDeployment] = []
    if f"add-dataset/{INTAKE}" not in skip:  # uploads the API staged: checked and stored on this worker
        deployments.append(deployment(add_dataset_flow, name=INTAKE, tags=["datasets"]))
    skipped: dict[str, str] = {}
    for name in all_datasets(settings):
        if f"train/{name}" in skip:
            continue
        try:
            spec = load_dataset_spec(name, settings)
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


def serve_datasets(settings: Settings, echo: Callable[[str], None], refresh_seconds: float = 15.0) -> None:
    """Register the deployments with the Prefect server and run their flow runs until stopped.
    Every ``refresh_seconds`` the datasets are looked up again: one added at run time (the
    dataset store) gets its deployments without a restart."""
    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    plan = plan_deployments(settings)
    for name, reason in plan.skipped.items():
        echo(f"skipping dataset {name}: {reason}")
    if len(plan.deployments) == 1:  # the intake alone: no dataset to train
        raise SpecError(
            f"no valid dataset spec in {settings.datasets_dir} and none added: add a <name>.yaml "
            "there or `astralytiq datasets add` one (or point ASTRALYTIQ_DATASETS_DIR at the folder)"
        )
    # Schedules belong to the specs, not to one worker process: a restarting worker pod must not
    # pause them (the default of `serve`), scheduled runs wait for the next worker instead.
    runner = Runner(pause_on_shutdown=False)
    try:
        asyncio.run(_serve(runner, plan, settings, echo, refresh_seconds))
    except (KeyboardInterrupt, TerminationSignal):
        echo("worker stopped")


async def keep_pause(deployment: RunnerDeployment) -> None:
    """A schedule an engineer paused (Pipelines page, API, Prefect's UI) stays paused when the
    worker registers the deployment again at its next start: registering sends ``paused``, which
    Prefect would otherwise reset to False."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            served = await client.read_deployment_by_name(deployment.full_name)
        except ObjectNotFound:
            return  # a new deployment: its schedule starts active
    if served.paused:
        deployment.paused = True


async def _serve(
    runner: Any, plan: DeploymentPlan, settings: Settings, echo: Callable[[str], None], refresh: float
) -> None:
    served: set[str] = set()
    skipped = dict(plan.skipped)

    async def add(deployments: list[RunnerDeployment]) -> None:
        for deployment in deployments:
            await keep_pause(deployment)
            await runner.aadd_deployment(deployment)
            echo(f"serving {deployment.full_name}")
            served.add(deployment.full_name)

    async def watch() -> None:
        while True:
            await asyncio.sleep(refresh)
            try:
                # Built off the event loop: ``to_deployment`` is synchronous there.
                new = await asyncio.to_thread(plan_deployments, settings, frozenset(served))
            except Exception as exc:  # the database briefly away: try again next time
                echo(f"could not look for new datasets: {exc}")
                continue
            for name, reason in new.skipped.items():
                if skipped.get(name) != reason:
                    echo(f"skipping dataset {name}: {reason}")
            skipped.clear()
            skipped.update(new.skipped)
            try:
                await add(new.deployments)
            except Exception as exc:  # the Prefect server briefly away: what was not added is tried again
                echo(f"could not serve the new datasets yet: {exc}")

    await add(plan.deployments)
    watcher = asyncio.create_task(watch())
    try:
        await runner.start()
    finally:
        watcher.cancel()
