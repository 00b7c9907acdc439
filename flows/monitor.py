"""The monitoring flow: check new actuals' contract, then their drift against the training window."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from astralytiq.db import session_scope
from astralytiq.settings import get_settings
from data_contracts.spec import DatasetSpec
from flows.retrain import maybe_retrain
from flows.tasks import check_contract, load_data, load_spec_task
from models import registry
from models.bundle import ForecastBundle
from monitoring.drift import DriftResult, NoNewActuals, compute_drift, split_windows
from monitoring.store import save_drift


@task(name="load-champion", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def load_champion(model_name: str) -> tuple[str, ForecastBundle]:
    return registry.load_champion_bundle(get_settings().mlflow_tracking_uri, model_name)


@task(name="compute-drift", cache_policy=NONE)
def drift_task(df: pd.DataFrame, spec: DatasetSpec, bundle: ForecastBundle) -> DriftResult:
    window = spec.monitoring.window or spec.horizon
    reference, current, windows = split_windows(
        df, date.fromisoformat(bundle.train_start), date.fromisoformat(bundle.train_end), window
    )
    get_run_logger().info(
        "reference %s..%s (%d rows), current %s..%s (%d rows)",
        windows.reference_start,
        windows.reference_end,
        len(reference),
        windows.current_start,
        windows.current_end,
        len(current),
    )
    return compute_drift(reference, current, spec.covariates, spec.monitoring.drift_threshold)


@task(name="store-drift", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def store_drift(model_name: str, version: str, result: DriftResult) -> int:
    settings = get_settings()
    with session_scope(settings.app_database_url) as session:
        return save_drift(session, settings.reports_dir, model_name, version, result).id


@flow(name="monitor", log_prints=True)
def monitor_flow(dataset: str) -> dict[str, Any]:
    """Drift of ``dataset``'s newest actuals against the window its champion was trained on."""
    settings = get_settings()
    registry.check_tracking_server(settings.mlflow_tracking_uri)
    spec = load_spec_task(dataset)
    rows = load_data(spec)
    df = check_contract(rows, spec, settings.reports_dir / "contracts" / spec.name, stage="monitoring")
    version, bundle = load_champion(spec.model_name)
    try:
        result = drift_task(df, spec, bundle)
    except NoNewActuals as exc:
        get_run_logger().warning("%s: nothing to monitor yet", exc)
        return {"model_name": spec.model_name, "version": version, "status": "no new actuals"}
    report_id = store_drift(spec.model_name, version, result)
    drifted = sorted(name for name, f in result.features.items() if f.drifted)
    create_markdown_artifact(
        key=f"drift-{spec.name.replace('_', '-')}",
        markdown=(
            f"### Drift of {spec.model_name} v{version}\n\n"
            f"- windows: reference {result.windows.reference_start}..{result.windows.reference_end}, "
            f"current {result.windows.current_start}..{result.windows.current_end}\n"
            f"- drifted share **{result.drift_share:.0%}** (threshold {spec.monitoring.drift_threshold:.0%})\n"
            f"- drifted: {', '.join(drifted) or 'none'}\n"
        ),
    )
    retrain = maybe_retrain(dataset, spec, result.drift_share)
    return {
        "model_name": spec.model_name,
        "version": version,
        "status": "drift" if result.dataset_drift else "ok",
        "drift_share": result.drift_share,
        "report_id": report_id,
        "retrain": retrain,
    }
