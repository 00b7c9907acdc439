"""The forecast flow: the champion's per-series choices applied to the newest contract-checked
actuals, published as a forecast snapshot of that model version (no new selection, no retrain).

Runs on the dataset's ``forecast_schedule`` (``forecast/<dataset>`` deployment) and as a step of
the monitor flow. The snapshot's bundle goes to the training run's artifacts in MLflow first,
then its row to the app database, so a row never points at a missing file; the API swaps to the
newest row of the version it serves.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from astralytiq.db import session_scope
from astralytiq.settings import get_settings
from astralytiq.snapshots import record_snapshot
from data_contracts.spec import DatasetSpec
from flows.outcomes import ForecastOutcome
from flows.tasks import check_contract, load_data, load_spec_task
from flows.train import training_config
from models.bundle import ForecastBundle
from models.rollforward import roll_forward
from registry import snapshots, tracking


@task(name="load-champion-run", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def load_champion_run(model_name: str) -> snapshots.Champion:
    return snapshots.load_champion(get_settings().mlflow_tracking_uri, model_name)


@task(name="roll-forward", cache_policy=NONE)
def roll_forward_task(bundle: ForecastBundle, df: pd.DataFrame, spec: DatasetSpec) -> ForecastBundle:
    return roll_forward(bundle, df, training_config(spec), stage=get_run_logger().info)


@task(name="publish-snapshot", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def publish_snapshot(
    spec: DatasetSpec, champion: snapshots.Champion, snapshot: ForecastBundle, seconds: float
) -> int:
    settings = get_settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"v{champion.version}-origin-{snapshot.origin}-{stamp}.json"
    stored = snapshots.store_snapshot(
        settings.mlflow_tracking_uri, champion.run_id, name, snapshot.to_json().encode()
    )
    with session_scope(settings.app_database_url) as session:
        record = record_snapshot(
            session,
            spec.model_name,
            champion.version,
            snapshot.origin,
            snapshot.metadata["snapshot"]["actuals_end"],
            len(snapshot.series),
            stored.artifact_uri,
            stored.artifact_path,
            stored.sha256,
            seconds,
        )
    return record.id


def publish_forecast(spec: DatasetSpec, df: pd.DataFrame) -> ForecastOutcome:
    """Roll the champion forward on ``df`` and publish it (a step shared with the monitor flow)."""
    champion = load_champion_run(spec.model_name)
    started = time.perf_counter()
    snapshot = roll_forward_task(champion.bundle, df, spec)
    seconds = time.perf_counter() - started
    snapshot_id = publish_snapshot(spec, champion, snapshot, seconds)
    fallbacks = snapshot.metadata["snapshot"]["fallbacks"]
    get_run_logger().info(
        "snapshot %d of %s v%s: origin %s (training origin %s), %d series in %.1f s%s",
        snapshot_id,
        spec.model_name,
        champion.version,
        snapshot.origin,
        champion.bundle.origin,
        len(snapshot.series),
        seconds,
        f"; {len(fallbacks)} series fell back" if fallbacks else "",
    )
    create_markdown_artifact(
        key=f"forecast-{spec.name.replace('_', '-')}",
        markdown=(
            f"### Forecast snapshot {snapshot_id} of {spec.model_name} v{champion.version}\n\n"
            f"- origin **{snapshot.origin}** (the version was trained to {champion.bundle.train_end})\n"
            f"- {len(snapshot.series)} series rolled forward in {seconds:.1f} s; "
            f"{len(fallbacks)} fell back to a naive forecast\n"
        ),
    )
    return ForecastOutcome(
        spec.model_name,
        champion.version,
        snapshot_id,
        snapshot.origin,
        len(snapshot.series),
        round(seconds, 3),
        tuple(sorted(fallbacks)),
    )


@flow(name="forecast", log_prints=True)
def forecast_flow(dataset: str) -> ForecastOutcome:
    """Publish a forecast of ``dataset``'s champion from its newest actuals."""
    settings = get_settings()
    tracking.check_tracking_server(settings.mlflow_tracking_uri)
    spec = load_spec_task(dataset)
    rows = load_data(spec)
    df = check_contract(rows, spec, settings.reports_dir / "contracts" / spec.name, stage="forecast")
    return publish_forecast(spec, df)
