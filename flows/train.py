"""The training flow: load, check the contract, backtest and select per series, register."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE

from astralytiq.settings import get_settings
from data_contracts.spec import DatasetSpec
from flows.tasks import check_contract, load_data, load_spec_task
from models import engine, registry
from models.frame import fingerprint


def training_config(spec: DatasetSpec) -> engine.TrainingConfig:
    return engine.TrainingConfig(
        freq=spec.frequency,
        horizon=spec.horizon,
        season_length=spec.season_length,
        candidates=tuple(spec.training.candidates),
        backtest_windows=spec.training.backtest_windows,
        backtest_step=spec.training.backtest_step,
        levels=tuple(spec.training.levels),
        nonnegative=spec.nonnegative,
    )


@task(name="backtest-and-select", cache_policy=NONE)
def backtest_and_select(df: pd.DataFrame, spec: DatasetSpec, n_jobs: int) -> engine.TrainingResult:
    logger = get_run_logger()
    total = df["series_id"].nunique()
    progress_id = create_progress_artifact(progress=0.0, description=f"series trained of {total}")
    assert isinstance(progress_id, UUID)  # the sync call inside a sync task returns the id
    step = max(1, total // 10)

    def report(done: int, of: int, series_id: str) -> None:
        if done % step == 0 or done == of:
            logger.info("trained %d/%d series (last: %s)", done, of, series_id)
            update_progress_artifact(progress_id, progress=100.0 * done / of)

    return engine.train(df, training_config(spec), spec.model_name, n_jobs=n_jobs, progress=report)


@task(name="register-model", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def register_model(
    result: engine.TrainingResult, spec: DatasetSpec, data_fingerprint: str, docs_dir: Path
) -> registry.RegisteredVersion:
    settings = get_settings()
    config = training_config(spec)
    return registry.log_training(
        result,
        tracking_uri=settings.mlflow_tracking_uri,
        experiment=spec.name,
        params={
            "dataset": spec.name,
            "frequency": spec.frequency,
            "horizon": spec.horizon,
            "season_length": spec.season_length,
            "candidates": ",".join(config.candidates),
            "backtest_windows": config.backtest_windows,
            "backtest_step": config.backtest_step or config.horizon,
            "series": len(result.bundle.series),
        },
        data_fingerprint=data_fingerprint,
        contract_docs=docs_dir,
        tags={"dataset": spec.name, "contract": "passed", "contract_stage": "training"},
    )


@flow(name="train", log_prints=True)
def train_flow(dataset: str, until: date | None = None, n_jobs: int = 0) -> dict[str, Any]:
    """Train and register a forecaster for ``dataset`` on its data up to ``until``."""
    settings = get_settings()
    registry.check_tracking_server(settings.mlflow_tracking_uri)
    spec = load_spec_task(dataset)
    until = until or spec.training.until
    rows = load_data(spec, until)
    with tempfile.TemporaryDirectory(prefix="contract-") as tmp:
        docs_dir = Path(tmp) / "data_docs"
        df = check_contract(rows, spec, docs_dir, stage="training")
        result = backtest_and_select(df, spec, n_jobs or settings.train_jobs)
        version = register_model(result, spec, fingerprint(df), docs_dir)
    counts = result.selection["model"].value_counts().to_dict()
    create_markdown_artifact(
        key=f"training-{spec.name.replace('_', '-')}",
        markdown=(
            f"### {spec.model_name} v{version.version}\n\n"
            f"- champion: **{version.promoted}** ({version.reason})\n"
            f"- backtest MASE {result.summary['backtest_mase']:.3f}, sMAPE {result.summary['backtest_smape']:.2f}\n"
            f"- models chosen: {counts}\n"
        ),
    )
    return {
        "model_name": version.model_name,
        "version": version.version,
        "run_id": version.run_id,
        "promoted": version.promoted,
        "reason": version.reason,
        "backtest_mase": result.summary["backtest_mase"],
        "selection": counts,
    }
