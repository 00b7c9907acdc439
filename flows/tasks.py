"""Prefect tasks shared by the flows: thin wrappers over core functions, with retries on I/O."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from astralytiq.settings import get_settings
from data_contracts.contract import load_contract
from data_contracts.sources import load_dataset
from data_contracts.spec import DatasetSpec, load_spec
from data_contracts.validation import ContractReport, ContractViolation, run_contract
from models import registry
from models.frame import DS


@task(name="load-spec", cache_policy=NONE)
def load_spec_task(dataset: str) -> DatasetSpec:
    return load_spec(dataset, get_settings().datasets_dir)


@task(name="load-data", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def load_data(spec: DatasetSpec, until: date | None = None) -> pd.DataFrame:
    df = load_dataset(spec)
    if until is not None:
        df = df[df[DS] <= pd.Timestamp(until)].reset_index(drop=True)
    get_run_logger().info(
        "loaded %s rows, %s series, %s..%s",
        len(df),
        df["series_id"].nunique(),
        df[DS].min().date() if len(df) else "-",
        df[DS].max().date() if len(df) else "-",
    )
    return df


@task(name="check-contract", cache_policy=NONE)
def check_contract(df: pd.DataFrame, spec: DatasetSpec, docs_dir: Path, stage: str) -> ContractReport:
    """Run the dataset's contract; on failure keep its report in MLflow and stop the flow."""
    report = run_contract(df, load_contract(spec.contract), spec.frequency, docs_dir)
    logger = get_run_logger()
    create_markdown_artifact(
        key=f"contract-{spec.name.replace('_', '-')}",
        markdown=f"### Data contract `{spec.contract}` ({stage})\n\n```\n{report.summary()}\n```",
        description="Data contract result",
    )
    if not report.success:
        settings = get_settings()
        run_id = registry.log_contract_failure(
            report, tracking_uri=settings.mlflow_tracking_uri, experiment=spec.name, tags={"stage": stage}
        )
        logger.error("%s\nreport kept in MLflow run %s", report.summary(), run_id)
        raise ContractViolation(report)
    logger.info(report.summary())
    return report
