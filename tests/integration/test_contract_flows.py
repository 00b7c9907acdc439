"""Contracts inside the real flows: a failure stops the run and changes nothing downstream, its
GX Data Docs stay in MLflow and are listed through the API; quarantine lets a run go on.

Real MLflow server, Prefect's test harness, the app database; nothing mocked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support import REPO

DEMO = REPO / "datasets" / "demo" / "nyc_flights_daily.csv"


def _dataset_with(tmp_path: Path, frame: pd.DataFrame, contract: str = "nyc_flights") -> str:
    """A copy of the demo spec (same name, so the same model) reading ``frame``."""
    frame.to_csv(tmp_path / "data.csv", index=False)
    spec = (
        (REPO / "datasets" / "nyc_flights.yaml")
        .read_text()
        .replace("demo/nyc_flights_daily.csv", str(tmp_path / "data.csv"))
        .replace("contract: nyc_flights", f"contract: {contract}")
    )
    (tmp_path / "nyc_flights.yaml").write_text(spec)
    return str(tmp_path / "nyc_flights.yaml")


@pytest.fixture(scope="module")
def viewer_api(api: TestClient) -> TestClient:
    """The shared in-process API, called as a viewer (a real login's token on every request)."""
    token = api.post("/v1/auth/token", data={"username": "viewer", "password": "viewer-password-1"}).json()
    viewer = TestClient(api.app)
    viewer.headers["Authorization"] = f"Bearer {token['access_token']}"
    return viewer


def _registry_state(tracking_uri: str) -> tuple[int, dict[str, str]]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    versions = client.search_model_versions("name='nyc_flights'")
    aliases = client.get_registered_model("nyc_flights").aliases
    return len(versions), dict(aliases)


def test_failed_training_contract_changes_nothing_and_its_docs_are_served(
    platform_env: Platform, trained_demo: TrainOutcome, viewer_api: TestClient, tmp_path: Path
) -> None:
    from data_contracts.validation import ContractViolation
    from flows.train import train_flow

    bad = pd.read_csv(DEMO)
    bad.loc[bad.index[100], "ds"] = bad.loc[bad.index[99], "ds"]  # a repeated day for one airport
    before = _registry_state(platform_env.tracking_uri)
    with pytest.raises(ContractViolation, match=r"repeat a \(series_id, ds\) pair") as err:
        train_flow(dataset=_dataset_with(tmp_path, bad))
    assert _registry_state(platform_env.tracking_uri) == before  # no version, no alias moved

    listed = viewer_api.get("/v1/contracts/reports", params={"dataset": "nyc_flights", "status": "failed"})
    assert listed.status_code == 200, listed.text
    newest = listed.json()[0]
    assert newest["stage"] == "training" and newest["failures"] == len(err.value.report.failures)
    detail = viewer_api.get(f"/v1/contracts/reports/{newest['run_id']}").json()
    failed_rules = {(r["rule"], r["column"]) for r in detail["results"] if not r["success"]}
    assert ("unique timestamps per series", "ds") in failed_rules
    assert "repeat a (series_id, ds) pair" in detail["summary"]
    page = viewer_api.get(detail["docs_url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "nyc_flights_contract" in page.text and "sandbox" in page.headers["content-security-policy"]
    assert viewer_api.get(f"/v1/contracts/reports/{newest['run_id']}/docs/index.html").status_code == 200
    # A path MLflow has no file for is a 404 in any script (percent-encoded on its way to MLflow;
    # it was a 503 "registry unavailable" naming MLflow's address), and so is one MLflow refuses.
    for missing in ("é.html", "ünï cödé/页.css", "a%2F..%2Fsecret", "x" * 1025):
        answer = viewer_api.get(f"/v1/contracts/reports/{newest['run_id']}/docs/{missing}")
        assert answer.status_code == 404, (missing, answer.text)
        assert "http" not in answer.text


def test_train_on_a_contract_breaking_file_prints_the_reason_not_tracebacks(
    platform_env: Platform, tmp_path: Path
) -> None:
    import os
    import subprocess

    from tests.support import BIN

    bad = pd.read_csv(DEMO)
    bad.loc[bad.index[100], "ds"] = bad.loc[bad.index[99], "ds"]
    spec = _dataset_with(tmp_path, bad)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}  # its own server
    env.update(platform_env.env)
    env["ASTRALYTIQ_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [str(BIN / "astralytiq"), "train", spec], env=env, capture_output=True, text=True, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "error: contract 'nyc_flights' failed" in output and "repeat a (series_id, ds) pair" in output
    assert "Traceback" not in output and "ERROR" not in output, output
    log = tmp_path / "data" / "logs" / "train.log"
    assert f"(details: {log})" in output
    assert "Traceback" in log.read_text() and "ContractViolation" in log.read_text()


def test_failed_monitoring_contract_stores_no_drift(
    platform_env: Platform, trained_demo: TrainOutcome, viewer_api: TestClient, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from astralytiq.db import DriftReport, session_scope
    from astralytiq.settings import get_settings
    from data_contracts.validation import ContractViolation
    from flows.monitor import monitor_flow

    bad = pd.read_csv(DEMO).astype({"y": float})
    bad.loc[bad.index[-1], "y"] = float("inf")

    def drift_rows() -> int:
        with session_scope(get_settings().app_database_url) as session:
            return int(session.scalar(select(func.count()).select_from(DriftReport)) or 0)

    before = drift_rows(), _registry_state(platform_env.tracking_uri)
    with pytest.raises(ContractViolation, match=r"column 'y': 1 value\(s\) outside .* \(e\.g\. inf\)"):
        monitor_flow(dataset=_dataset_with(tmp_path, bad))
    assert (drift_rows(), _registry_state(platform_env.tracking_uri)) == before
    stages = [r["stage"] for r in viewer_api.get("/v1/contracts/reports", params={"status": "failed"}).json()]
    assert stages[0] == "monitoring"


def test_quarantine_lets_monitoring_go_on_and_keeps_the_rows_with_reasons(
    platform_env: Platform, trained_demo: TrainOutcome, tmp_path: Path
) -> None:
    from data_contracts.contract import load_contract
    from flows.monitor import monitor_flow

    contract = load_contract("nyc_flights")
    series = contract.series.model_copy(update={"max_gap_share": 0.01})
    quarantined = contract.model_copy(update={"quarantine": True, "series": series})
    (tmp_path / "contract.yaml").write_text(
        __import__("yaml").safe_dump(quarantined.model_dump(mode="json"), sort_keys=False)
    )
    data = pd.read_csv(DEMO)
    december = data.index[pd.to_datetime(data["ds"]) >= "2013-12-10"]
    data.loc[december[:3], "y"] = -1.0
    result = monitor_flow(dataset=_dataset_with(tmp_path, data, contract=str(tmp_path / "contract.yaml")))
    assert result.status in {"ok", "drift"}  # the run went on to compute drift
    kept = sorted((platform_env.data_dir / "reports" / "quarantine" / "nyc_flights").glob("monitoring-*.csv"))
    assert kept, "no quarantine file"
    rows = pd.read_csv(kept[-1])
    assert len(rows) == 3 and set(rows["_rule"]) == {"value range"}
    assert rows["_row"].tolist() == [i + 2 for i in december[:3]]  # CSV lines
    assert rows["_reason"].str.contains("column 'y': -1.0 breaks value range").all()


def test_a_passing_training_run_carries_its_contract_report(
    platform_env: Platform, trained_demo: TrainOutcome, viewer_api: TestClient
) -> None:
    passed = viewer_api.get(
        "/v1/contracts/reports", params={"dataset": "nyc_flights", "status": "passed"}
    ).json()
    run = next(r for r in passed if r["run_id"] == trained_demo.run_id)
    assert run["stage"] == "training" and run["model_version"] == trained_demo.version
    detail = viewer_api.get(f"/v1/contracts/reports/{run['run_id']}").json()
    assert detail["rows"] > 8000 and all(r["success"] for r in detail["results"])
    assert detail["summary"].startswith("contract 'nyc_flights' passed")


def test_contract_reports_refuse_bad_requests(viewer_api: TestClient, platform_env: Platform) -> None:
    assert viewer_api.get("/v1/contracts/reports", params={"dataset": "../etc"}).status_code == 422
    assert viewer_api.get("/v1/contracts/reports/not-a-run-id").status_code == 422
    assert viewer_api.get(f"/v1/contracts/reports/{'0' * 32}").status_code == 404
    assert viewer_api.get("/v1/contracts/reports", params={"dataset": "unknown_set"}).json() == []
    assert TestClient(viewer_api.app).get("/v1/contracts/reports").status_code == 401
