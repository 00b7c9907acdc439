"""Model health end to end: a real monitor run stores drift and live accuracy; the API reports
them; a real Prometheus server (Debian's package) scrapes the API process on loopback and answers
a query with the drift gauge at the value the monitor run stored."""

from __future__ import annotations

import math
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from flows.outcomes import MonitorOutcome, TrainOutcome
from tests.conftest import Platform
from tests.support import BIN, REPO, free_port, operator_headers, start, stop, wait_http
from tests.support.factories import champion_of

MODEL = "nyc_flights"


@dataclass(frozen=True)
class Monitored:
    result: MonitorOutcome
    drift_share: float
    dataset_drift: bool
    atl_score: float
    accuracy: dict[str, Any]


@pytest.fixture(scope="module")
def monitored(platform_env: Platform, trained_demo: TrainOutcome) -> Monitored:
    """One real monitor run of the demo: December's actuals against the training window."""
    from astralytiq.db import AccuracyReport, DriftReport, session_scope
    from astralytiq.settings import get_settings
    from flows.monitor import monitor_flow

    result = monitor_flow(dataset=MODEL)
    assert result.accuracy_id is not None, result
    with session_scope(get_settings().app_database_url) as session:
        drift = session.get(DriftReport, result.report_id)
        accuracy = session.get(AccuracyReport, result.accuracy_id)
        assert drift is not None and accuracy is not None
        return Monitored(
            result,
            drift.drift_share,
            drift.dataset_drift,
            float(drift.features["y:ATL"]["score"]),
            {"mase": accuracy.mase, "wape": accuracy.wape, "coverage": dict(accuracy.coverage)},
        )


def viewer_headers(client: TestClient) -> dict[str, str]:
    response = client.post("/v1/auth/token", data={"username": "viewer", "password": "viewer-password-1"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_accuracy_route_reports_the_stored_live_accuracy(client: TestClient, monitored: Monitored) -> None:
    assert client.get(f"/v1/models/{MODEL}/accuracy").status_code == 401
    response = client.get(f"/v1/models/{MODEL}/accuracy", headers=viewer_headers(client))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"model", "points"} and body["model"] == MODEL
    latest = body["points"][-1]  # oldest first: the run above is the newest
    assert set(latest) == {
        "evaluated_at",
        "model_version",
        "window_start",
        "window_end",
        "mase",
        "wape",
        "coverage",
        "n_series",
        "n_points",
    }
    assert latest["model_version"] == monitored.result.version
    # The champion's 28-day forecast from its cutoff (2013-12-03), scored on December's actuals.
    assert (latest["window_start"], latest["window_end"]) == ("2013-12-04", "2013-12-31")
    assert (latest["n_series"], latest["n_points"]) == (24, 24 * 28)
    assert latest["mase"] == pytest.approx(monitored.accuracy["mase"]) and 0 < latest["mase"] < 10
    assert 0 < latest["wape"] < 100
    assert set(latest["coverage"]) == {"80", "95"}
    assert 0 <= latest["coverage"]["80"] <= latest["coverage"]["95"] <= 1
    stamps = [p["evaluated_at"] for p in body["points"]]
    assert stamps == sorted(stamps)
    empty = client.get("/v1/models/no_such_model/accuracy", headers=viewer_headers(client)).json()
    assert empty == {"model": "no_such_model", "points": []}


@dataclass(frozen=True)
class PrometheusServer:
    url: str
    api_url: str


@pytest.fixture(scope="module")
def prometheus(
    platform_env: Platform, monitored: Monitored, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """The API as a process, and Prometheus scraping it every second with the repo's alert rules."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(
            "prometheus is missing: run `bash scripts/install_system_deps.sh` (Debian package prometheus)"
        )
    root = tmp_path_factory.mktemp("prometheus")
    api_port, metrics_port, prom_port = free_port(), free_port(), free_port()
    # Prometheus reads the API's metrics port, as in production (no credentials there).
    api = start(
        [str(BIN / "astralytiq"), "serve", "--port", str(api_port)],
        root / "api.log",
        {
            **platform_env.env,
            "ASTRALYTIQ_HEALTH_REFRESH_SECONDS": "0.5",
            "ASTRALYTIQ_METRICS_PORT": str(metrics_port),
        },
    )
    config = yaml.safe_load((REPO / "infra" / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(REPO / "infra" / "prometheus" / "alerts.yml")]
    config["scrape_configs"][0].update(scrape_timeout="1s")
    config["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_port}"]}]
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    server = None
    try:
        wait_http(f"http://127.0.0.1:{api_port}/readyz", 120, api)
        server = start(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            root / "prometheus.log",
        )
        wait_http(f"http://127.0.0.1:{prom_port}/-/ready", 60, server)
        yield PrometheusServer(f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{api_port}")
    finally:
        if server is not None:
            stop(server)
        stop(api)


def query(prometheus: PrometheusServer, promql: str, timeout: float = 30) -> float:
    """The single value of ``promql``, waiting for the first scrapes to land."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": promql}, timeout=5)
        response.raise_for_status()
        data = response.json()["data"]["result"]
        if data:
            assert len(data) == 1, data
            return float(data[0]["value"][1])
        if time.monotonic() > deadline:
            raise AssertionError(f"Prometheus has no sample of {promql} after {timeout}s")
        time.sleep(0.5)


def test_prometheus_scrapes_the_stored_drift_from_the_api(
    prometheus: PrometheusServer, monitored: Monitored, platform_env: Platform
) -> None:
    from mlflow import MlflowClient

    job = '{job="astralytiq-api"}'
    assert query(prometheus, f"up{job}") == 1.0
    assert query(prometheus, f'astralytiq_drift_share{{model="{MODEL}"}}') == pytest.approx(
        monitored.drift_share
    )
    assert query(prometheus, f'astralytiq_drift_detected{{model="{MODEL}"}}') == float(
        monitored.dataset_drift
    )
    assert query(
        prometheus, f'astralytiq_drift_feature_score{{model="{MODEL}", feature="y:ATL"}}'
    ) == pytest.approx(monitored.atl_score)
    assert query(prometheus, f'astralytiq_live_mase{{model="{MODEL}"}}') == pytest.approx(
        monitored.accuracy["mase"]
    )
    coverage = query(prometheus, f'astralytiq_live_interval_coverage_ratio{{model="{MODEL}", level="95"}}')
    assert coverage == pytest.approx(monitored.accuracy["coverage"]["95"])
    # December 2013 is the demo's newest actual: years old, so the data is stale.
    age = query(prometheus, f'astralytiq_data_age_seconds{{model="{MODEL}"}}')
    assert age > 3 * 86400 and math.isfinite(age)
    client = MlflowClient(platform_env.tracking_uri)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert query(prometheus, f'astralytiq_champion_version{{model="{MODEL}"}}') == float(champion.version)
    newest = max(int(v.creation_timestamp) for v in client.search_model_versions(f"name='{MODEL}'"))
    trained = query(prometheus, f'astralytiq_last_training_timestamp_seconds{{model="{MODEL}"}}')
    assert trained == pytest.approx(newest / 1000.0)


def test_prometheus_evaluates_the_drift_alert_on_the_scraped_gauge(
    prometheus: PrometheusServer, monitored: Monitored
) -> None:
    """The repo's rule, loaded by the real server: firing exactly when the monitor run found drift."""
    query(prometheus, f'astralytiq_drift_detected{{model="{MODEL}"}}')  # scraped at least once
    deadline = time.monotonic() + 15
    while True:
        alerts = httpx.get(f"{prometheus.url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        drift = [a for a in alerts if a["labels"]["alertname"] == "ModelDriftDetected"]
        rules = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        evaluated = any(
            r["name"] == "ModelDriftDetected" and r.get("lastEvaluation", "").startswith("20")
            for g in rules
            for r in g["rules"]
        )
        if evaluated and (bool(drift) == monitored.dataset_drift or time.monotonic() > deadline):
            break
        time.sleep(0.5)
    assert bool(drift) == monitored.dataset_drift, (drift, monitored.dataset_drift)
    if drift:
        assert drift[0]["labels"]["model"] == MODEL and drift[0]["state"] == "firing"


TRIO = "flights_trio"


def trio_spec(folder: Path, candidates: list[str]) -> Path:
    """Three demo series as a dataset of their own: a retrain in seconds, and the demo's champion
    (which other tests rely on) is left alone."""
    import pandas as pd

    demo = pd.read_csv(REPO / "datasets" / "demo" / "nyc_flights_daily.csv")
    demo[demo["series_id"].isin(["ATL", "BOS", "ORD"])].to_csv(folder / "trio.csv", index=False)
    contract = (REPO / "data_contracts" / "contracts" / "nyc_flights.yaml").read_text()
    (folder / "trio_contract.yaml").write_text(contract.replace("dataset: nyc_flights", f"dataset: {TRIO}"))
    spec = yaml.safe_load((REPO / "datasets" / "nyc_flights.yaml").read_text())
    spec.update(name=TRIO, model_name=TRIO, contract=str(folder / "trio_contract.yaml"))
    spec["source"]["path"] = str(folder / "trio.csv")
    spec["training"].update(candidates=candidates, backtest_windows=1)  # one window: seconds, not minutes
    path = folder / f"{TRIO}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def train_in_process() -> Iterator[None]:
    """Three series train in this process in seconds; a Dask cluster's cold start takes a minute."""
    from astralytiq.settings import get_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASTRALYTIQ_TRAIN_JOBS", "1")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


def test_simulate_drift_closes_the_loop_and_says_which_stage_did_not_happen(
    prometheus: PrometheusServer,
    monitored: Monitored,
    platform_env: Platform,
    tmp_path: Path,
    train_in_process: None,
) -> None:
    """Champion: seasonal naive on three series. The spec then adds Theta (an engineer's change),
    the newest actuals are doubled, and simulate-drift watches: drift, the alert firing in the
    real Prometheus, the retrain the monitor flow triggers, and the gate's verdict served."""
    import hashlib

    from typer.testing import CliRunner

    from astralytiq.db import DriftReport, session_scope
    from astralytiq.settings import get_settings
    from cli.app import app
    from flows.train import train_flow

    first = train_flow(dataset=str(trio_spec(tmp_path, ["seasonal_naive"])), n_jobs=1)
    copy = f"{TRIO}_simulated"

    def real_drift_reports() -> int:
        with session_scope(get_settings().app_database_url) as session:
            rows = session.scalars(select(DriftReport.id).where(DriftReport.model_name == TRIO)).all()
        return len(rows)

    reports_before = real_drift_reports()
    spec_path = trio_spec(tmp_path, ["seasonal_naive", "theta"])
    digest = hashlib.sha256((tmp_path / "trio.csv").read_bytes()).hexdigest()
    result = CliRunner().invoke(
        app,
        [
            "simulate-drift",
            str(spec_path),
            "--factor",
            "2",
            "--api-url",
            prometheus.api_url,
            "--prometheus-url",
            prometheus.url,
            "--wait",
            "0",
        ],
    )
    output = result.output
    assert f"{TRIO}: champion copied as {copy} v" in output, output
    assert "[x] drift detected: drifted share" in output, output
    assert "[x] alert condition true: ModelDriftDetected firing" in output, output
    # Prefect's own log lines share the captured output, so stages are found anywhere in a line.
    names = ("drift detected", "alert condition true", "retrain triggered", "new champion served")
    stages = {name: mark for mark, name in re.findall(r"\[( |x)\] (" + "|".join(names) + "):", output)}
    assert sorted(stages) == sorted(names), output
    missed = [name for name in names if stages[name] == " "]
    if missed:  # said plainly, and the exit code says so
        assert result.exit_code == 1
        assert f"the loop stopped short: {', '.join(missed)} did not happen" in output
    else:
        assert result.exit_code == 0 and "the loop closed" in output, output
    if stages["retrain triggered"] == "x":
        # The gate decided; a promotion must be what the API serves now, a refusal must say why.
        promoted = re.search(r"trained v(\d+) here: champion", output)
        if promoted:
            assert stages["new champion served"] == "x", output
            served = httpx.get(
                f"{prometheus.api_url}/readyz", headers=operator_headers(platform_env.data_dir)
            ).json()["models"][copy]
            assert served == promoted.group(1)
        else:
            assert stages["new champion served"] == " " and "challenger" in output, output
    # The source data is untouched; the shifted copy and its spec sit in the data folder.
    assert hashlib.sha256((tmp_path / "trio.csv").read_bytes()).hexdigest() == digest
    simulated = platform_env.data_dir / "simulated" / TRIO
    assert (simulated / f"{TRIO}.yaml").is_file() and (simulated / "trio_shifted.csv").is_file()
    # The real model is untouched: same champion, no drift recorded under its name.
    assert champion_of(platform_env.tracking_uri, TRIO) == first.version
    assert real_drift_reports() == reports_before
    # The shifted run is what Prometheus reports, under the copy's name.
    with session_scope(get_settings().app_database_url) as session:
        newest = session.scalars(
            select(DriftReport).where(DriftReport.model_name == copy).order_by(DriftReport.id.desc()).limit(1)
        ).one()
        share = newest.drift_share
    assert share >= 0.5
    deadline = time.monotonic() + 15
    while query(prometheus, f'astralytiq_drift_share{{model="{copy}"}}') != pytest.approx(share):
        assert time.monotonic() < deadline, "Prometheus never saw the shifted run's drift share"
        time.sleep(0.5)
