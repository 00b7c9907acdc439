"""The training and monitoring flows under Prefect's test harness with the real MLflow server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support import REPO


def test_training_registers_a_champion_with_its_evidence(
    platform_env: Platform, trained_demo: TrainOutcome
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(platform_env.tracking_uri)
    version = client.get_model_version_by_alias("nyc_flights", "champion")
    assert version.version == trained_demo.version
    assert version.run_id is not None
    run = client.get_run(version.run_id)
    assert run.data.params["train_end"] == "2013-12-03"  # the spec's training.until
    assert len(run.data.params["data_fingerprint"]) == 16
    assert {"backtest_mase", "backtest_smape", "backtest_wape", "backtest_coverage_95"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in client.list_artifacts(version.run_id)}
    assert {"backtest", "plots", "contract_report"} <= artifacts
    assert sum(trained_demo.selection.values()) == 24


def test_monitoring_stores_drift_and_the_api_reports_it(
    platform_env: Platform, trained_demo: TrainOutcome
) -> None:
    from flows.monitor import monitor_flow

    result = monitor_flow(dataset="nyc_flights")
    assert result.status in {"ok", "drift"}
    assert result.drift_share is not None and 0 <= result.drift_share <= 1
    from astralytiq.db import DriftReport, session_scope
    from astralytiq.settings import get_settings

    with session_scope(get_settings().app_database_url) as session:
        row = session.get(DriftReport, result.report_id)
        assert row is not None
        assert str(row.current_start.date()) == "2013-12-04" and str(row.reference_end.date()) == "2013-12-03"
        assert "y:ATL" in row.features and "temp_mean_f" in row.features
        assert Path(row.report_path).read_text().lstrip().lower().startswith("<!doctype html")


def test_failed_contract_stops_training_and_registers_nothing(
    platform_env: Platform, trained_demo: TrainOutcome, tmp_path: Path
) -> None:
    import pandas as pd
    from mlflow import MlflowClient

    from data_contracts.validation import ContractViolation
    from flows.train import train_flow

    bad = pd.read_csv(REPO / "datasets" / "demo" / "nyc_flights_daily.csv")
    bad.loc[10, "y"] = -7
    bad.to_csv(tmp_path / "bad.csv", index=False)
    spec = (
        (REPO / "datasets" / "nyc_flights.yaml")
        .read_text()
        .replace("demo/nyc_flights_daily.csv", str(tmp_path / "bad.csv"))
    )
    (tmp_path / "nyc_flights.yaml").write_text(spec)
    client = MlflowClient(platform_env.tracking_uri)
    before = len(client.search_model_versions("name='nyc_flights'"))
    with pytest.raises(ContractViolation, match="column 'y': 1 value"):
        train_flow(dataset=str(tmp_path / "nyc_flights.yaml"))
    assert len(client.search_model_versions("name='nyc_flights'")) == before
    assert client.get_model_version_by_alias("nyc_flights", "champion").version == trained_demo.version
    experiment = client.get_experiment_by_name("nyc_flights")
    assert experiment is not None
    failed = client.search_runs([experiment.experiment_id], filter_string="tags.contract = 'failed'")
    assert failed and failed[0].info.status == "FAILED"
    assert any(a.path == "contract_report" for a in client.list_artifacts(failed[0].info.run_id))


def test_training_without_mlflow_says_how_to_fix(
    platform_env: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.tracking import TrackingUnavailable, check_tracking_server

    with pytest.raises(TrackingUnavailable, match="astralytiq up"):
        check_tracking_server("http://127.0.0.1:9")
    assert httpx.get(f"{platform_env.tracking_uri}/health").status_code == 200


def test_a_paused_schedule_stays_paused_when_the_worker_registers_it_again(prefect_harness: None) -> None:
    """A worker restart registers every deployment again; an engineer's pause (or resume) holds."""
    import asyncio

    from prefect.deployments.runner import RunnerDeployment
    from prefect.settings import PREFECT_API_URL

    from flows.deployments import keep_pause
    from flows.train import train_flow
    from orchestration.prefect_api import PrefectAPI

    def registered() -> None:  # as `astralytiq worker` does at start
        deployment = train_flow.to_deployment(
            name="pause_demo", parameters={"dataset": "pause_demo"}, cron="0 6 * * 1"
        )
        assert isinstance(deployment, RunnerDeployment)
        asyncio.run(keep_pause(deployment))
        deployment.apply()

    registered()
    prefect = PrefectAPI(str(PREFECT_API_URL.value()))
    try:
        shown = prefect.schedule("train", "pause_demo")
        assert (shown.schedule, shown.paused) == ("weekly on Monday at 06:00 (UTC)", False)
        assert prefect.pause("train", "pause_demo").paused
        registered()
        assert prefect.schedule("train", "pause_demo").paused
        assert not prefect.resume("train", "pause_demo").paused
        registered()
        assert not prefect.schedule("train", "pause_demo").paused
    finally:
        httpx.delete(f"{prefect.url}/deployments/{prefect.deployment_id('train', 'pause_demo')}")
