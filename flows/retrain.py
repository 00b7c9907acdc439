"""Retraining when monitoring finds drift above the dataset's threshold.

The training run goes through the ``train/<dataset>`` deployment when the Prefect server has
one (it then runs on a worker, like a scheduled run); without a server or deployment the
training flow runs here as a subflow. Either way the champion gate decides whether the new
version is promoted, and an unchanged data window registers nothing new (idempotency key).
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from data_contracts.spec import DatasetSpec
from flows.outcomes import Retrained, RetrainTriggered
from orchestration.prefect_api import TRAIN, DeploymentMissing, PrefectAPI, PrefectUnavailable


def deployment_name(dataset: str) -> str | None:
    """The deployment a dataset argument maps to: its name; None for a spec given by path."""
    return None if "/" in dataset or dataset.endswith((".yaml", ".yml")) else Path(dataset).stem


@task(name="trigger-training-deployment", cache_policy=NONE)
def trigger_training_deployment(dataset: str) -> str | None:
    """The flow run id of a new ``train/<dataset>`` run, or None when there is no server or deployment."""
    from prefect.settings import get_current_settings

    logger = get_run_logger()
    url, name = get_current_settings().api.url, deployment_name(dataset)
    if not url or name is None:
        return None
    try:
        run = PrefectAPI(url).trigger(TRAIN, name)
    except (PrefectUnavailable, DeploymentMissing) as exc:
        logger.info("no training deployment to trigger (%s); training here instead", exc)
        return None
    logger.info("triggered %s/%s: flow run %s (%s)", TRAIN, name, run.name, run.id)
    return run.id


def maybe_retrain(dataset: str, spec: DatasetSpec, drift_share: float) -> RetrainTriggered | Retrained | None:
    """Train again when ``drift_share`` is above the spec's threshold; None when it is not."""
    from flows.train import train_flow

    logger = get_run_logger()
    threshold = spec.monitoring.drift_threshold
    if drift_share <= threshold:
        return None
    logger.warning(
        "drifted share %.0f%% is above the threshold %.0f%%: retraining", 100 * drift_share, 100 * threshold
    )
    flow_run_id = trigger_training_deployment(dataset)
    if flow_run_id is not None:
        return RetrainTriggered(flow_run_id)
    return Retrained(train_flow(dataset=dataset))
