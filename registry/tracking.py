"""The MLflow client of the flows: the tracking server's health, failed contracts kept as runs,
the champion's bundle, and the plots a training run logs.

Training's registration (one version per idempotency key, the gate's alias) is in
``registry.registration``; the API reads the registry through ``registry.rest`` instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from models.bundle import ForecastBundle
from registry.names import BUNDLE_FILE, CHAMPION, CONTRACT_TAG, REPORT_FOLDER

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from data_contracts.report import ContractReport


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server cannot be reached."""


def client_for(tracking_uri: str) -> MlflowClient:
    """The MLflow client for ``tracking_uri``; the fluent API (``mlflow.start_run``) is pointed there too."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri)


def check_tracking_server(tracking_uri: str, timeout: float = 3.0) -> None:
    """Fail fast, with a fix, when the MLflow server is down (instead of minutes of retries)."""
    if not tracking_uri.startswith("http"):
        return
    import httpx

    try:
        httpx.get(f"{tracking_uri.rstrip('/')}/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise TrackingUnavailable(
            f"MLflow tracking server not reachable at {tracking_uri} ({exc.__class__.__name__}). "
            "Start the platform with `astralytiq up` (or `astralytiq mlflow`), or point "
            "ASTRALYTIQ_MLFLOW_TRACKING_URI at a running server."
        ) from None


def forecast_plot(bundle: ForecastBundle, path: Path, max_series: int = 6) -> Path:
    """A grid of the first series: recent history, forecast and its 95% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.intervals import bands

    ids = sorted(bundle.series)[:max_series]
    fig, axes = plt.subplots(len(ids), 1, figsize=(9, 2.2 * len(ids)), squeeze=False)
    for ax, series_id in zip(axes[:, 0], ids, strict=True):
        s = bundle.series[series_id]
        lower, upper = bands(s.mean, s.sigma, 95, 0.0 if bundle.nonnegative else None)
        ax.plot(pd.to_datetime(s.history_dates), s.history_values, color="#334155", lw=1)
        dates = pd.to_datetime(s.dates)
        ax.fill_between(dates, lower, upper, color="#6366f1", alpha=0.2, lw=0)
        ax.plot(dates, s.mean, color="#4f46e5", lw=1.5)
        ax.set_title(f"{series_id} ({s.model})", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def log_contract_failure(
    report: ContractReport, *, tracking_uri: str, experiment: str, tags: dict[str, str] | None = None
) -> str:
    """Keep a failed contract's report as an MLflow run (status FAILED); returns the run id."""
    import mlflow

    client_for(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(
        run_name=f"contract-failed-{report.dataset}", tags={**(tags or {}), CONTRACT_TAG: "failed"}
    ) as run:
        mlflow.log_metrics({"contract_rules": report.evaluated, "contract_failures": len(report.failures)})
        mlflow.log_text(report.summary(), f"{REPORT_FOLDER}/summary.txt")
        if report.docs_dir is not None:
            mlflow.log_artifacts(str(report.docs_dir), artifact_path=REPORT_FOLDER)
        mlflow.end_run(status="FAILED")
    return run.info.run_id


def load_champion_bundle(tracking_uri: str, model_name: str) -> tuple[str, ForecastBundle]:
    """(version, bundle) of the current champion, through the MLflow client."""
    import mlflow

    client = client_for(tracking_uri)
    version = client.get_model_version_by_alias(model_name, CHAMPION)
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}/{version.version}", dst_path=tmp
        )
        bundle = ForecastBundle.load(Path(path) / BUNDLE_FILE)
    return str(version.version), bundle


def copy_champion(tracking_uri: str, source: str, target: str) -> str:
    """Register ``source``'s champion again as the champion of ``target``: the same forecasts
    under another name, with the source run's backtest metrics and per-series selection (so the
    champion gate judges a retrain of the copy as it would the original). Returns the version.

    ``simulate-drift`` monitors and retrains such a copy: the real model's health history and
    alias are never touched by a demonstration."""
    import dataclasses

    import mlflow
    from mlflow.exceptions import MlflowException

    from registry.flavor import register_bundle

    client = client_for(tracking_uri)
    version, bundle = load_champion_bundle(tracking_uri, source)
    copied = dataclasses.replace(bundle, model_name=target)
    run_id = client.get_model_version(source, version).run_id
    new_version = register_bundle(tracking_uri, "simulate-drift", target, copied.to_json())
    copy_run = client.get_model_version(target, new_version).run_id
    if run_id and copy_run:
        for key, value in client.get_run(run_id).data.metrics.items():
            client.log_metric(copy_run, key, value)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                selection = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path="backtest/selection.csv", dst_path=tmp
                )
                client.log_artifact(copy_run, selection, artifact_path="backtest")
            except (MlflowException, OSError):
                pass  # no per-series record: the gate falls back to the recorded score
    client.set_model_version_tag(target, new_version, "copied_from", f"{source} v{version}")
    client.set_registered_model_alias(target, CHAMPION, new_version)
    return new_version
