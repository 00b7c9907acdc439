"""Crash safety, idempotency and the champion gate of the training flow, with real processes.

A training run in a child process is SIGKILLed (with its Dask workers) in the middle of training:
nothing is registered; the rerun resumes from the series already finished and registers exactly
one version; a third run with the same key does nothing. The MLflow server and the Prefect API
(the test harness's) are the real ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support import BIN, REPO, free_port, start, stop
from tests.support.factories import DEMO_SERIES, write_dataset

pytestmark = pytest.mark.slow


def versions(tracking_uri: str, name: str) -> list[Any]:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri).search_model_versions(f"name = '{name}'")


def kill_mid_training(spec: Path, checkpoints: Path, log: Path) -> int:
    """Start the flow in a child process, SIGKILL its process group once some series are done;
    returns how many series had finished."""
    from prefect.settings import get_current_settings

    api_url = get_current_settings().api.url
    assert api_url, "the Prefect test harness sets the API URL"
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(log.parent / "prefect-home")}
    code = "import sys; from flows.train import train_flow; train_flow(dataset=sys.argv[1], n_jobs=1)"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(spec)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
            start_new_session=True,  # its own process group: the Dask nanny and workers die with it
        )
    deadline = time.monotonic() + 240
    try:
        while not list(checkpoints.glob("*/*.pkl")):
            assert process.poll() is None, f"the flow ended before the kill:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # a worker pod lost mid-training
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    assert process.returncode == -signal.SIGKILL
    return len(list(checkpoints.glob("*/*.pkl")))


@dataclass(frozen=True)
class Recovered:
    spec: Path
    finished_before_kill: int
    versions_after_kill: list[Any]
    first: TrainOutcome


@pytest.fixture(scope="module")
def recovered(
    platform_env: Platform, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Recovered:
    """A training killed mid-way, then run again to completion (margin 0.9: hard to beat)."""
    from flows.train import train_flow

    folder = tmp_path_factory.mktemp("resilience")
    # Any drift at all (threshold 0) retrains: the monitoring test below needs it.
    spec = write_dataset(folder, "resilience_demo", margin=0.9, threshold=0.0)
    checkpoints = platform_env.data_dir / "checkpoints" / "train"
    finished = kill_mid_training(spec, checkpoints, folder / "killed-run.log")
    after_kill = versions(platform_env.tracking_uri, "resilience_demo")
    return Recovered(spec, finished, after_kill, train_flow(dataset=str(spec), n_jobs=1))


def test_killed_training_registers_nothing_and_the_rerun_registers_once(
    platform_env: Platform, recovered: Recovered
) -> None:
    from mlflow import MlflowClient

    from flows.train import train_flow

    finished, first = recovered.finished_before_kill, recovered.first
    assert 1 <= finished < len(DEMO_SERIES), f"killed after {finished} series: not mid-training"
    assert recovered.versions_after_kill == []  # nothing half-registered
    assert first.resumed == finished  # the series finished before the kill were not trained again
    assert not first.skipped and first.promoted and first.alias == "champion"
    registered = versions(platform_env.tracking_uri, "resilience_demo")
    assert [v.version for v in registered] == [first.version]
    assert registered[0].tags["idempotency_key"] == first.idempotency_key
    assert registered[0].tags["gate_decision"] == "champion"
    client = MlflowClient(platform_env.tracking_uri)
    assert client.get_model_version_by_alias("resilience_demo", "champion").version == first.version
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["idempotency_key"] == first.idempotency_key
    checkpoints = platform_env.data_dir / "checkpoints" / "train" / first.idempotency_key
    assert not checkpoints.exists()  # dropped once the registry holds the result

    again = train_flow(dataset=str(recovered.spec), n_jobs=1)
    assert again.skipped and again.version == first.version and again.alias == "champion"
    assert len(versions(platform_env.tracking_uri, "resilience_demo")) == 1


def test_a_crash_between_registration_and_gate_is_finished_by_the_rerun(
    platform_env: Platform, recovered: Recovered
) -> None:
    """The version exists, its decision and alias do not: what a kill right after registering leaves."""
    from mlflow import MlflowClient

    from flows.train import train_flow

    version = recovered.first.version
    client = MlflowClient(platform_env.tracking_uri)
    for tag in ("gate_decision", "gate"):
        client.delete_model_version_tag("resilience_demo", version, tag)
    client.delete_registered_model_alias("resilience_demo", "champion")

    rerun = train_flow(dataset=str(recovered.spec), n_jobs=1)
    assert not rerun.skipped and rerun.version == version
    assert version in {v.version for v in versions(platform_env.tracking_uri, "resilience_demo")}
    assert not [
        v for v in versions(platform_env.tracking_uri, "resilience_demo")
        if v.tags["idempotency_key"] == recovered.first.idempotency_key and v.version != version
    ]  # fmt: skip
    assert client.get_model_version_by_alias("resilience_demo", "champion").version == version
    assert client.get_model_version("resilience_demo", version).tags["gate_decision"] == "champion"


def test_a_version_that_does_not_beat_the_champion_by_the_margin_is_challenger(
    platform_env: Platform, recovered: Recovered
) -> None:
    from mlflow import MlflowClient

    from flows.train import train_flow

    first = recovered.first
    # A week less of data: a new key, a new version, compared head to head on its backtest windows.
    second = train_flow(dataset=str(recovered.spec), until=date(2013, 11, 26), n_jobs=1)
    assert second.version != first.version and second.alias == "challenger"
    assert f"does not beat champion v{first.version}" in second.reason
    assert "by 90.0%" in second.reason and "backtest window(s) of 6 series" in second.reason
    client = MlflowClient(platform_env.tracking_uri)
    assert client.get_model_version_by_alias("resilience_demo", "champion").version == first.version
    assert client.get_model_version_by_alias("resilience_demo", "challenger").version == second.version
    version = client.get_model_version("resilience_demo", second.version)
    assert version.tags["gate"] == second.reason
    assert version.tags["gate_champion_version"] == first.version
    assert client.get_run(second.run_id).data.tags["promoted"] == "False"


def test_drift_above_the_threshold_retrains_through_the_gate(
    platform_env: Platform, recovered: Recovered
) -> None:
    """No Prefect deployment here (the test harness has none): the training runs as a subflow.
    December's weather drifts from the year's, so the share is above the threshold of 0."""
    from flows.monitor import monitor_flow
    from flows.outcomes import Retrained

    result = monitor_flow(dataset=str(recovered.spec))
    assert result.drift_share is not None and result.drift_share > 0
    assert isinstance(result.retrain, Retrained), result.retrain
    retrain = result.retrain.training
    # Same data window as the champion's training: the key finds v1, nothing new is registered.
    assert retrain.version == recovered.first.version and retrain.alias == "champion"
    keyed = [
        v
        for v in versions(platform_env.tracking_uri, "resilience_demo")
        if v.tags.get("idempotency_key") == recovered.first.idempotency_key
    ]
    assert len(keyed) == 1


@pytest.fixture
def dask_scheduler(tmp_path: Path) -> Iterator[str]:
    """A Dask scheduler and one worker as separate processes, as on a cluster."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = start(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        tmp_path / "scheduler.log",
    )
    worker = start(
        [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
        tmp_path / "worker.log",
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(1, timeout=60)
                break
            except (OSError, TimeoutError):
                assert scheduler.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "scheduler.log"
                ).read_text()[-2000:]
                time.sleep(0.5)
        yield address
    finally:
        stop(worker)
        stop(scheduler)


def test_training_runs_on_a_remote_dask_scheduler_by_address(
    platform_env: Platform, recovered: Recovered, dask_scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    from astralytiq.settings import get_settings
    from flows.train import train_flow

    monkeypatch.setenv("ASTRALYTIQ_DASK_ADDRESS", dask_scheduler)
    get_settings.cache_clear()
    try:
        result = train_flow(dataset=str(recovered.spec), until=date(2013, 11, 19), n_jobs=1)
    finally:
        monkeypatch.delenv("ASTRALYTIQ_DASK_ADDRESS")
        get_settings.cache_clear()
    assert not result.skipped and result.resumed == 0
    assert sum(result.selection.values()) == len(DEMO_SERIES)
    with Client(dask_scheduler, timeout=10) as client:
        # Only this flow used the scheduler: its tasks went through it.
        transitions = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    assert transitions > 0
