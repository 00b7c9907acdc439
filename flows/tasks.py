"""Prefect tasks shared by the flows: thin wrappers over core functions, with retries on I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from astralytiq.settings import get_settings
from data_contracts.contract import load_contract_for
from data_contracts.guards import ReadLimits, SourceRefused
from data_contracts.quarantine import enforce_contract
from data_contracts.sources import SourceRows, read_dataset
from data_contracts.spec import DatasetSpec
from data_contracts.validation import ContractViolation
from flows.dataset_specs import load_dataset_spec
from models.frame import DS, SERIES_ID
from registry import tracking


@task(name="load-spec", cache_policy=NONE)
def load_spec_task(dataset: str) -> DatasetSpec:
    return load_dataset_spec(dataset, get_settings())


def _worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a lost connection, never a refused file: bad data does not fix itself."""
    error = state.data
    return not isinstance(error, SourceRefused) or error.rule == "SQL connection"


@task(
    name="load-data",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_worth_retrying,
    cache_policy=NONE,
)
def load_data(spec: DatasetSpec, until: date | None = None) -> SourceRows:
    settings = get_settings()
    limits = ReadLimits(
        max_bytes=int(settings.source_max_bytes),
        max_decompressed_bytes=int(settings.source_max_decompressed_bytes),
    )
    rows = read_dataset(spec, limits)
    if until is not None:
        rows = SourceRows(rows.frame[rows.frame[DS] <= pd.Timestamp(until)], rows.unparsed)
    df = rows.frame
    get_run_logger().info(
        "loaded %s rows, %s series, %s..%s%s",
        len(df),
        df[SERIES_ID].nunique(),
        df[DS].min().date() if len(df) else "-",
        df[DS].max().date() if len(df) else "-",
        f"; {len(rows.unparsed)} row(s) hold values that do not parse" if len(rows.unparsed) else "",
    )
    return rows


@task(name="check-contract", cache_policy=NONE)
def check_contract(rows: SourceRows, spec: DatasetSpec, docs_dir: Path, stage: str) -> pd.DataFrame:
    """Run the dataset's contract and return the rows to use.

    On failure the report goes to MLflow and the flow stops. In quarantine mode, rows that
    break row-level rules are kept in the reports folder (and beside the report) with the reason.
    """
    settings = get_settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    quarantine_path = settings.reports_dir / "quarantine" / spec.name / f"{stage}-{stamp}.csv"
    outcome = enforce_contract(rows, load_contract_for(spec), spec.frequency, docs_dir, quarantine_path)
    report = outcome.report
    logger = get_run_logger()
    create_markdown_artifact(
        key=f"contract-{spec.name.replace('_', '-')}",
        markdown=f"### Data contract `{spec.contract}` ({stage})\n\n```\n{report.summary()}\n```",
        description="Data contract result",
    )
    if report.quarantine_file is not None:
        logger.warning("%d row(s) set aside in %s", report.quarantined, report.quarantine_file)
    if not report.success:
        run_id = tracking.log_contract_failure(
            report,
            tracking_uri=settings.mlflow_tracking_uri,
            experiment=spec.name,
            tags={"contract_stage": stage, "dataset": spec.name},
        )
        logger.error("%s\nreport kept in MLflow run %s", report.summary(), run_id)
        raise ContractViolation(report)
    logger.info(report.summary())
    return outcome.kept
