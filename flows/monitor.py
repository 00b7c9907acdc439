"""The monitoring flow: check new actuals' contract, record how fresh they are, score the champion's
forecast on them (live accuracy), publish the champion rolled forward to them (a forecast
snapshot), then their drift against the training window."""

from __future__ import annotations

from datetime import date

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from astralytiq.db import session_scope
from astralytiq.settings import get_settings
from data_contracts.spec import DatasetSpec
from flows.forecast_flow import publish_forecast
from flows.outcomes import ForecastOutcome, MonitorOutcome
from flows.retrain import maybe_retrain
from flows.tasks import check_contract, load_data, load_spec_task
from models.bundle import ForecastBundle
from models.frame import DS
from models.rollforward import RollForwardError
from monitoring.accuracy import AccuracyResult, live_accuracy
from monitoring.drift import DriftResult, NoNewActuals, compute_drift, split_windows
from monitoring.store import save_accuracy, save_drift, save_monitor_run
from registry import tracking


@task(name="load-champion", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def load_champion(model_name: str) -> tuple[str, ForecastBundle]:
    return tracking.load_champion_bundle(get_settings().mlflow_tracking_uri, model_name)


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
    return compute_drift(reference, current, spec.covariate_names, spec.monitoring.drift_threshold)


@task(name="store-drift", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def store_drift(model_name: str, version: str, result: DriftResult) -> int:
    settings = get_settings()
    with session_scope(settings.app_database_url) as session:
        return save_drift(session, settings.reports_dir, model_name, version, result).id


@task(name="record-freshness", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def record_freshness(df: pd.DataFrame, spec: DatasetSpec, version: str) -> str:
    """Keep the newest actual's date: the data-freshness gauge and alert read it."""
    newest = pd.Timestamp(df[DS].max()).to_pydatetime()
    settings = get_settings()
    with session_scope(settings.app_database_url) as session:
        save_monitor_run(session, spec.model_name, spec.name, version, newest)
    return newest.date().isoformat()


@task(name="score-accuracy", cache_policy=NONE)
def accuracy_task(df: pd.DataFrame, spec: DatasetSpec, bundle: ForecastBundle) -> AccuracyResult | None:
    """The champion's forecast from its training cutoff against the actuals since; None before any."""
    try:
        result = live_accuracy(bundle, df, spec.training.levels, spec.monitoring.window or spec.horizon)
    except NoNewActuals as exc:
        get_run_logger().info("live accuracy: %s", exc)
        return None
    except ValueError as exc:  # degenerate data (e.g. one-point histories): drift still gets checked
        get_run_logger().warning("live accuracy not computed: %s", exc)
        return None
    get_run_logger().info(
        "live accuracy %s..%s: MASE %.3f, WAPE %.1f%%, coverage %s (%d series, %d points)",
        result.window_start,
        result.window_end,
        result.mase,
        result.wape,
        ", ".join(f"{level}%: {share:.0%}" for level, share in result.coverage.items()),
        result.n_series,
        result.n_points,
    )
    return result


@task(name="store-accuracy", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def store_accuracy(model_name: str, version: str, result: AccuracyResult) -> int:
    settings = get_settings()
    with session_scope(settings.app_database_url) as session:
        return save_accuracy(session, model_name, version, result).id


def forecast_step(spec: DatasetSpec, df: pd.DataFrame, bundle: ForecastBundle) -> ForecastOutcome | None:
    """Publish the champion rolled forward to these actuals, when they go past its training.

    A roll-forward that cannot be made is logged and leaves the served forecast as it was: the
    drift check still runs (it is what tells whether a retrain is due)."""
    newest = pd.Timestamp(df[DS].max()).date()
    if newest <= date.fromisoformat(bundle.train_end):
        get_run_logger().info("no actuals after %s: the served forecast stays", bundle.train_end)
        return None
    try:
        return publish_forecast(spec, df)
    except RollForwardError as exc:
        get_run_logger().error("forecast snapshot not published: %s", exc)
        return None


@flow(name="monitor", log_prints=True)
def monitor_flow(dataset: str) -> MonitorOutcome:
    """Drift of ``dataset``'s newest actuals against the window its champion was trained on."""
    settings = get_settings()
    tracking.check_tracking_server(settings.mlflow_tracking_uri)
    spec = load_spec_task(dataset)
    rows = load_data(spec)
    df = check_contract(rows, spec, settings.reports_dir / "contracts" / spec.name, stage="monitoring")
    version, bundle = load_champion(spec.model_name)
    record_freshness(df, spec, version)
    accuracy = accuracy_task(df, spec, bundle)
    accuracy_id = store_accuracy(spec.model_name, version, accuracy) if accuracy is not None else None
    forecast = forecast_step(spec, df, bundle)
    try:
        result = drift_task(df, spec, bundle)
    except NoNewActuals as exc:
        get_run_logger().warning("%s: nothing to monitor yet", exc)
        return MonitorOutcome(
            spec.model_name, version, "no new actuals", accuracy_id=accuracy_id, forecast=forecast
        )
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
    return MonitorOutcome(
        spec.model_name,
        version,
        "drift" if result.dataset_drift else "ok",
        drift_share=result.drift_share,
        report_id=report_id,
        accuracy_id=accuracy_id,
        retrain=retrain,
        forecast=forecast,
    )
