"""Registering a trained bundle exactly once, and moving its alias at most once.

A training job is identified by an idempotency key over (dataset, data window and content, training
configuration, code version). The key is written on the MLflow run and, in the same call that
creates it, on the model version. A rerun after a crash finds the version by its key instead of
registering another; the gate's decision is kept on the version before the alias moves, so a
rerun applies the recorded decision rather than comparing the version with itself.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import models
from models import backtest_windows
from models.engine import TrainingConfig, TrainingResult
from registry.gate import GATE_METRIC, GateDecision
from registry.names import (
    BACKTEST_WINDOWS_NAME,
    BUNDLE_ARTIFACT,
    CHAMPION,
    IDEMPOTENCY_TAG,
    REPORT_FOLDER,
    as_alias,
)
from registry.tracking import client_for, forecast_plot

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

__all__ = ["IDEMPOTENCY_TAG", "client_for", "code_version", "idempotency_key", "register_once"]
MODELS_DIR = Path(models.__file__).parent  # the forecasting engine: what code_version hashes
REGISTRY_DIR = Path(__file__).parent  # the pyfunc flavor lives here: shipped with each model


def code_version() -> str:
    """The package version plus a digest of the engine's source: changed code, new key."""
    try:
        release = version("astralytiq")
    except PackageNotFoundError:  # run from a source tree that was never installed
        release = "0+source"
    digest = hashlib.sha256()
    for path in sorted(MODELS_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{release}+{digest.hexdigest()[:12]}"


def idempotency_key(
    dataset: str, data_fingerprint: str, train_start: str, train_end: str, config: TrainingConfig, code: str
) -> str:
    """One key per (dataset, data window and content, training configuration, code version)."""
    payload = {
        "dataset": dataset,
        "data": data_fingerprint,
        "window": [train_start, train_end],
        "config": asdict(config),
        "code": code,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Registered:
    model_name: str
    version: str
    run_id: str
    reused: bool  # found by its key: registered by an earlier (possibly crashed) run


def find_version(client: MlflowClient, model_name: str, key: str) -> ModelVersion | None:
    """The (oldest) model version registered under ``key``, or None."""
    from mlflow.exceptions import MlflowException

    try:
        found = client.search_model_versions(f"name = '{model_name}' and tags.{IDEMPOTENCY_TAG} = '{key}'")
    except MlflowException:  # no registered model of that name yet
        return None
    return min(found, key=lambda v: int(v.version)) if found else None


def _close_abandoned_runs(client: MlflowClient, experiment: str, key: str) -> None:
    """Runs of this key left RUNNING by a killed process registered nothing: mark them KILLED."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return
    for run in client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.{IDEMPOTENCY_TAG} = '{key}' and attributes.status = 'RUNNING'",
    ):
        client.set_terminated(run.info.run_id, status="KILLED")


def register_once(
    result: TrainingResult,
    *,
    tracking_uri: str,
    experiment: str,
    key: str,
    params: dict[str, Any],
    data_fingerprint: str,
    contract_docs: Path | None,
    tags: dict[str, str] | None = None,
) -> Registered:
    """Log the training run and register its bundle, unless a version with ``key`` exists.

    The version is created last, in one call that carries the key: a process killed before it
    leaves at most an unfinished run (closed as KILLED by the next attempt), never a version
    without its key.
    """
    import mlflow

    from registry.flavor import ForecastBundleModel, signature

    client = client_for(tracking_uri)
    bundle = result.bundle
    existing = find_version(client, bundle.model_name, key)
    if existing is not None:
        if existing.run_id and client.get_run(existing.run_id).info.status == "RUNNING":
            # Killed after registering: everything the run logs comes before the version.
            client.set_terminated(existing.run_id, status="FINISHED")
        return Registered(bundle.model_name, existing.version, existing.run_id or "", reused=True)
    _close_abandoned_runs(client, experiment, key)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(
        run_name=f"train-{bundle.model_name}", tags={**(tags or {}), IDEMPOTENCY_TAG: key}
    ) as run:
        mlflow.log_params(
            {
                **params,
                "data_fingerprint": data_fingerprint,
                "train_start": bundle.train_start,
                "train_end": bundle.train_end,
            }
        )
        mlflow.log_metrics({k: v for k, v in result.summary.items() if pd.notna(v)})
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            result.selection.to_csv(folder / "selection.csv", index=False)
            result.scores.to_csv(folder / "backtest_scores.csv", index=False)
            # The chosen model's forecast on each backtest window, for the API's backtest route.
            (folder / BACKTEST_WINDOWS_NAME).write_text(backtest_windows.to_json(result.backtest_windows))
            (folder / "selection_counts.json").write_text(
                json.dumps(result.selection["model"].value_counts().to_dict())
            )
            mlflow.log_artifacts(str(folder), artifact_path="backtest")
            mlflow.log_artifact(str(forecast_plot(bundle, folder / "forecasts.png")), artifact_path="plots")
            if contract_docs is not None and contract_docs.is_dir():
                mlflow.log_artifacts(str(contract_docs), artifact_path=REPORT_FOLDER)
            bundle_path = bundle.save(folder / "bundle.json")
            info = mlflow.pyfunc.log_model(
                name="forecaster",
                python_model=ForecastBundleModel(),
                artifacts={BUNDLE_ARTIFACT: str(bundle_path)},
                code_paths=[str(MODELS_DIR), str(REGISTRY_DIR)],
                signature=signature(),
                pip_requirements=["mlflow", "pandas"],
            )
        created = mlflow.register_model(info.model_uri, bundle.model_name, tags={IDEMPOTENCY_TAG: key})
        mlflow.set_tag("model_version", created.version)
    # Two runs of one key at the same time: the older version wins, the newer is withdrawn.
    first = find_version(client, bundle.model_name, key)
    if first is not None and first.version != created.version:
        client.delete_model_version(bundle.model_name, created.version)
        return Registered(bundle.model_name, first.version, first.run_id or "", reused=True)
    return Registered(bundle.model_name, created.version, run.info.run_id, reused=False)


@dataclass(frozen=True)
class ChampionChoice:
    version: str
    selection: dict[str, str]  # series_id -> model the champion chose
    recorded_score: float | None  # the champion's own backtest score (on its own windows)


def current_champion(
    client: MlflowClient, model_name: str, excluding: str | None = None
) -> ChampionChoice | None:
    """The champion's version and per-series selection (from its run's ``backtest/selection.csv``)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    if champion.version == excluding:
        return None
    selection: dict[str, str] = {}
    recorded: float | None = None
    if champion.run_id:
        recorded = client.get_run(champion.run_id).data.metrics.get(f"backtest_{GATE_METRIC}")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = mlflow.artifacts.download_artifacts(
                    run_id=champion.run_id, artifact_path="backtest/selection.csv", dst_path=tmp
                )
                table = pd.read_csv(path, dtype={"series_id": str, "model": str})
                selection = dict(zip(table["series_id"], table["model"], strict=True))
            except (MlflowException, OSError, KeyError):
                selection = {}  # no per-series record: the gate falls back to the recorded score
    return ChampionChoice(champion.version, selection, recorded)


def recorded_decision(client: MlflowClient, model_name: str, version: str) -> GateDecision | None:
    """The gate decision a version already carries (an earlier attempt decided), or None."""
    tags = client.get_model_version(model_name, version).tags
    alias = as_alias(tags.get("gate_decision"))
    if alias is None:  # not decided yet (the gate writes nothing else there)
        return None
    number = tags.get("gate_new_score")
    champion = tags.get("gate_champion_score")
    return GateDecision(
        alias=alias,
        reason=tags.get("gate", ""),
        margin=float(tags.get("gate_margin", "0")),
        metric=tags.get("gate_metric", GATE_METRIC),
        new_score=float(number) if number else None,
        champion_score=float(champion) if champion else None,
        champion_version=tags.get("gate_champion_version"),
    )


def apply_decision(
    client: MlflowClient, model_name: str, version: str, run_id: str, decision: GateDecision
) -> bool:
    """Record the decision on the version, then point its alias at it; True if the alias moved.

    The decision is written before the alias (``gate_decision`` last, as the commit mark), so a
    crash in between is finished by the rerun with the same decision. The alias never moves
    backwards: if a newer version holds it already, it stays there.
    """
    from mlflow.exceptions import MlflowException

    for name, value in decision.tags().items():
        if name != "gate_decision":
            client.set_model_version_tag(model_name, version, name, value)
    client.set_model_version_tag(model_name, version, "gate_decision", decision.alias)
    if run_id:
        client.set_tag(run_id, "promoted", str(decision.promoted))
        client.set_tag(run_id, "gate", decision.reason)
    try:
        holder = client.get_model_version_by_alias(model_name, decision.alias).version
    except MlflowException:
        holder = None
    if holder is not None and int(holder) >= int(version):
        return False
    client.set_registered_model_alias(model_name, decision.alias, version)
    return True
