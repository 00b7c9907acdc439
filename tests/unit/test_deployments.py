"""The deployments `astralytiq worker` serves, and the worker's refusals before it serves any."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from astralytiq.settings import Settings
from flows.deployments import plan_deployments
from tests.support import BIN, REPO


def _settings(datasets: Path) -> Settings:
    from astralytiq.db import upgrade_database

    settings = Settings(datasets_dir=datasets, data_dir=datasets / "data")
    settings.data_dir.mkdir(exist_ok=True)
    upgrade_database(settings.app_database_url)
    return settings


def test_each_spec_gets_a_train_a_monitor_and_a_forecast_deployment_and_a_broken_one_is_skipped(
    tmp_path: Path,
) -> None:
    shutil.copy(REPO / "datasets" / "nyc_flights.yaml", tmp_path)
    (tmp_path / "broken.yaml").write_text("name: broken\nfrequency: D\n")

    plan = plan_deployments(_settings(tmp_path))

    by_name = {d.full_name: d for d in plan.deployments}
    assert set(by_name) == {
        "train/nyc_flights",
        "monitor/nyc_flights",
        "forecast/nyc_flights",
        "add-dataset/intake",
    }
    train, monitor = by_name["train/nyc_flights"], by_name["monitor/nyc_flights"]
    forecast = by_name["forecast/nyc_flights"]
    assert train.parameters == monitor.parameters == forecast.parameters == {"dataset": "nyc_flights"}
    # The spec's crons drive training and forecasting; monitoring runs when triggered.
    assert [s.schedule.cron for s in train.schedules] == ["0 6 * * 1"]  # type: ignore[union-attr]
    assert [s.schedule.cron for s in forecast.schedules] == ["30 5 * * *"]  # type: ignore[union-attr]
    assert forecast.entrypoint == "flows.forecast_flow.forecast_flow"
    assert monitor.schedules == []
    # Module paths: the flow-run process imports the installed package from any directory.
    assert train.entrypoint == "flows.train.train_flow"
    assert monitor.entrypoint == "flows.monitor.monitor_flow"
    assert set(plan.skipped) == {"broken"}
    assert "broken.yaml" in plan.skipped["broken"] and "source" in plan.skipped["broken"]


def worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ASTRALYTIQ_", "PREFECT_"))}
    return subprocess.run(
        [str(BIN / "astralytiq"), "worker"],
        env={**clean, "ASTRALYTIQ_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_worker_refuses_to_start_without_a_prefect_server(tmp_path: Path) -> None:
    result = worker(tmp_path)
    assert result.returncode == 1
    assert "set PREFECT_API_URL" in result.stderr


def test_worker_refuses_to_start_without_a_valid_spec(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "broken.yaml").write_text("- not a mapping\n")
    result = worker(
        tmp_path,
        PREFECT_API_URL="http://127.0.0.1:9/api",  # never reached: the specs are checked first
        ASTRALYTIQ_DATASETS_DIR=str(tmp_path / "specs"),
    )
    assert result.returncode == 1
    assert "skipping dataset broken" in result.stdout
    assert "no valid dataset spec" in result.stderr


def test_a_dataset_added_at_run_time_gets_its_deployments(tmp_path: Path) -> None:
    from astralytiq import dataset_store
    from astralytiq.audit import Actor

    settings = _settings(tmp_path)
    data = tmp_path / "upload.csv"
    data.write_text("series_id,ds,y\na,2024-01-01,1\na,2024-01-02,2\na,2024-01-03,3\n")
    spec = "name: shop\nsource: {kind: csv, path: data.csv}\nfrequency: D\nseason_length: 1\nhorizon: 1\n"
    spec += "contract: contract.yaml\nschedule: '*/5 * * * *'\n"
    contract = (
        "dataset: shop\ncolumns: {series_id: {type: string}, ds: {type: datetime}, y: {type: number}}\n"
    )
    dataset_store.add(settings, "shop", spec, contract, data, Actor("tester", "cli"))
    plan = plan_deployments(settings)
    by_name = {d.full_name: d for d in plan.deployments}
    assert (
        set(by_name) == {"train/shop", "monitor/shop", "forecast/shop", "add-dataset/intake"}
        and not plan.skipped
    )
    assert [s.schedule.cron for s in by_name["train/shop"].schedules] == ["*/5 * * * *"]  # type: ignore[union-attr]
    # What the worker already serves is left out of a refresh.
    assert plan_deployments(settings, frozenset(by_name)).deployments == []
