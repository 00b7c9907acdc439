"""`astralytiq up` (what `make up` runs) as a user starts it: a Prefect worker runs beside the
other services, serves every dataset's deployments with their schedules active (a schedule of
every minute fires and the worker runs it), the API triggers training on it, and Ctrl-C stops the
worker with everything else. Real processes on free ports; nothing mocked."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import BIN, REPO, free_port
from tests.support.factories import write_dataset

pytestmark = pytest.mark.slow

DATASET = "every_minute"
ADMIN_PASSWORD = "up-admin-password-1"


@dataclass(frozen=True)
class Up:
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path
    prefect_url: str
    api_url: str
    prometheus_url: str
    alertmanager_url: str


def _with_our_data_dir(data_dir: Path) -> list[int]:
    """Processes started for this data folder (they carry it in their environment)."""
    marker = f"ASTRALYTIQ_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue  # gone, or not ours to read
    return found


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root = tmp_path_factory.mktemp("up")
    datasets = root / "datasets"
    datasets.mkdir()
    spec = write_dataset(datasets, DATASET, series=("ATL", "BOS"), candidates="seasonal_naive")
    spec.write_text(spec.read_text() + 'schedule: "* * * * *"\n')
    ports = {
        name: free_port() for name in ("API", "PORTAL", "MLFLOW", "PREFECT", "PROMETHEUS", "ALERTMANAGER")
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASTRALYTIQ_", "PREFECT_", "MLFLOW_"))}
    env.update({f"ASTRALYTIQ_{name}_PORT": str(port) for name, port in ports.items()})
    env.update(
        ASTRALYTIQ_DATA_DIR=str(root / "data"),
        ASTRALYTIQ_DATASETS_DIR=str(datasets),
        ASTRALYTIQ_ADMIN_PASSWORD=ADMIN_PASSWORD,
        ASTRALYTIQ_TRAIN_JOBS="1",
    )
    log = root / "up.log"
    process = subprocess.Popen(
        [str(BIN / "astralytiq"), "up"],
        stdout=open(log, "ab"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 900
        while "AstralytiQ is up" not in log.read_text():
            assert process.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(1)
        yield Up(
            process,
            log,
            root / "data",
            f"http://127.0.0.1:{ports['PREFECT']}/api",
            f"http://127.0.0.1:{ports['API']}",
            f"http://127.0.0.1:{ports['PROMETHEUS']}",
            f"http://127.0.0.1:{ports['ALERTMANAGER']}",
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_up_runs_a_worker_that_serves_every_dataset_with_its_schedule(up: Up) -> None:
    from orchestration.prefect_api import PrefectAPI, worker_silence

    output = up.log.read_text()
    assert "4/7 Prefect worker" in output and (up.data_dir / "logs" / "worker.log").is_file()
    api = PrefectAPI(up.prefect_url)
    for flow in ("train", "monitor"):
        deployment = api.deployment(flow, DATASET)
        silence = worker_silence(deployment)
        assert silence is not None and silence < 60, deployment
    schedules = api.deployment("train", DATASET)["schedules"]
    assert [(s["schedule"]["cron"], s["active"]) for s in schedules] == [("* * * * *", True)]


def test_a_schedule_of_every_minute_fires_and_the_worker_runs_it(up: Up) -> None:
    from orchestration.prefect_api import PrefectAPI

    deployment = PrefectAPI(up.prefect_url).deployment("train", DATASET)
    deadline = time.monotonic() + 240
    while True:
        runs = httpx.post(
            f"{up.prefect_url}/flow_runs/filter",
            json={
                "flow_runs": {
                    "deployment_id": {"any_": [deployment["id"]]},
                    "state": {"type": {"any_": ["RUNNING", "COMPLETED", "FAILED", "CRASHED"]}},
                },
                "limit": 10,
            },
            timeout=10,
        ).json()
        scheduled = [r for r in runs if r.get("auto_scheduled")]
        if scheduled:
            break
        assert time.monotonic() < deadline, "no scheduled run was picked up by the worker in 4 minutes"
        time.sleep(3)
    # The worker took it (a run no worker takes stays SCHEDULED): it started, on the schedule.
    assert scheduled[0]["start_time"] is not None


def test_the_api_triggers_training_on_the_worker(up: Up) -> None:
    token = httpx.post(
        f"{up.api_url}/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}, timeout=30
    ).json()["access_token"]
    triggered = httpx.post(
        f"{up.api_url}/v1/pipelines/train",
        json={"dataset": DATASET},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert triggered.status_code == 202, triggered.text


def test_up_runs_prometheus_and_alertmanager_wired_to_the_api(up: Up) -> None:
    """The shipped rules are loaded, Prometheus scrapes the API with its metrics token and sends
    to the Alertmanager, which calls the API's webhook receiver with the API's own token."""
    assert "alerts: Prometheus" in up.log.read_text()
    rules = httpx.get(f"{up.prometheus_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert "ModelDriftDetected" in {r["name"] for g in rules for r in g["rules"]}
    deadline = time.monotonic() + 60
    while True:
        targets = httpx.get(f"{up.prometheus_url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        managers = httpx.get(f"{up.prometheus_url}/api/v1/alertmanagers", timeout=10).json()["data"]
        if targets and targets[0]["health"] == "up" and managers["activeAlertmanagers"]:
            break
        assert time.monotonic() < deadline, (targets, managers)
        time.sleep(1)
    assert targets[0]["scrapeUrl"] == f"{up.api_url}/metrics"
    assert managers["activeAlertmanagers"][0]["url"].startswith(up.alertmanager_url)
    status = httpx.get(f"{up.alertmanager_url}/api/v2/status", timeout=10).json()
    assert f"{up.api_url}/v1/alerts/webhook" in status["config"]["original"]


def test_ctrl_c_stops_the_worker_with_everything_else(up: Up) -> None:
    children = _with_our_data_dir(up.data_dir)
    # up, MLflow, Prefect, the worker, the API, the portal, Prometheus, Alertmanager
    assert len(children) >= 8, children
    os.killpg(up.process.pid, signal.SIGINT)
    assert up.process.wait(90) == 0, up.log.read_text()[-3000:]
    deadline = time.monotonic() + 20
    while _with_our_data_dir(up.data_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _with_our_data_dir(up.data_dir), "processes left running after Ctrl-C"
    assert "stopped." in up.log.read_text()
