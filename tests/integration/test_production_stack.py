"""The production path on this machine: docker-compose.yml's services as real processes.

infra/run_production_stack.py starts them with compose's commands and environment (a unit test
holds the two equal): an MLflow server and a Prefect server on PostgreSQL, the API and the portal
from their images' slim package sets, Prometheus, and the worker when the checkout has it. A
training run goes through the Prefect server (PREFECT_API_URL) and MLflow, and the API serves the
new champion. Nothing is mocked; each test database is created here and dropped afterwards.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from infra.run_production_stack import (
    Stack,
    Topology,
    build_role_environment,
    clean_environment,
    create_databases,
    drop_databases,
    native_topology,
    run_stack,
    services,
    worker_available,
)
from tests.support import BIN, REPO, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

POSTGRES = "postgres@127.0.0.1:5432"
ADMIN_URL = f"postgresql+psycopg://{POSTGRES}/postgres"
# A reduced demo: 4 real series and two cheap candidates keep the training to seconds; the code
# path (contract, backtest, selection, MLflow registration, champion gate) is the full one.
SPEC = """\
name: stack_demo
description: Four series of the NYC flights demo, for the production-path test.
source: {kind: csv, path: stack_demo.csv}
covariates: [temp_mean_f, precip_in]
frequency: D
season_length: 7
horizon: 14
model_name: stack_demo
contract: nyc_flights
training:
  candidates: [seasonal_naive, theta]
  backtest_windows: 2
  until: 2013-12-03
"""
SERIES = ("ATL", "BOS", "DEN", "ORD")


@dataclass
class Running:
    stack: Stack
    topology: Topology
    table: dict[str, Any]
    worker_started: bool


def write_reduced_dataset(folder: Path) -> None:
    folder.mkdir(parents=True)
    with open(REPO / "datasets" / "demo" / "nyc_flights_daily.csv", newline="") as source:
        reader = csv.DictReader(source)
        rows = [row for row in reader if row["series_id"] in SERIES]
        fields = reader.fieldnames
    assert fields and {r["series_id"] for r in rows} == set(SERIES)
    with open(folder / "stack_demo.csv", "w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    (folder / "stack_demo.yaml").write_text(SPEC)


def uv() -> str:
    path = REPO / ".tools" / "bin" / "uv"
    found = str(path) if path.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is missing: run `make install-dev`, which installs it into .tools/")
    return found


@pytest.fixture(scope="module")
def production_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is missing: run `bash scripts/install_system_deps.sh`")
    workdir = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("mlflow", "prefect", "api", "portal", "prometheus")}
    prefix = f"astralytiq_stack_{uuid.uuid4().hex[:8]}"
    topology = native_topology(workdir, ports, POSTGRES, prefix, secrets.token_urlsafe(48))
    topology = replace(topology, datasets_dir=str(workdir / "datasets"))
    write_reduced_dataset(workdir / "datasets")
    # The api and portal run from the packages their images install, not from the dev venv.
    bin_dirs = {
        role: build_role_environment(role, workdir / f"{role}-env", uv()) for role in ("api", "portal")
    }
    table = services(topology)
    selected = list(table)
    # `astralytiq worker` (serving the flow deployments) comes with the orchestration work; until
    # this checkout has it, the rest of the stack runs without it.
    worker_started = worker_available(BIN)
    if not worker_started:
        selected.remove("worker")
    create_databases(topology, ADMIN_URL)
    try:
        with run_stack(topology, workdir / "logs", selected, bin_dirs, echo=lambda _: None) as stack:
            yield Running(stack, topology, table, worker_started)
    finally:
        drop_databases(topology, ADMIN_URL)


def run_as(running: Running, role: str, command: list[str], stdin: str = "") -> str:
    """A one-off command with a service's environment: `docker compose run --rm ROLE ...`."""
    program = running.stack.bin_dirs.get(role, BIN) / command[0]
    result = subprocess.run(
        [str(program), *command[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean_environment(), **running.table[role].environment},
        cwd=running.topology.data_dir,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def scalar(topology: Topology, component: str, query: str) -> Any:
    engine = create_engine(f"postgresql+psycopg://{POSTGRES}/{topology.databases[component]}")
    try:
        with engine.connect() as conn:
            return conn.scalar(text(query))
    finally:
        engine.dispose()


def test_train_through_prefect_and_mlflow_on_postgres_then_serve(production_stack: Running) -> None:
    running, topology = production_stack, production_stack.topology
    api = f"http://127.0.0.1:{topology.ports['api']}"

    # The one-off commands of the compose README: an admin, then a training run on the worker image.
    run_as(running, "api", ["astralytiq", "users", "create", "admin", "--role", "admin", "--password-stdin"],
           stdin="a-long-admin-password\n")  # fmt: skip
    trained = run_as(running, "worker", ["astralytiq", "train", "stack_demo", "--jobs", "2"])
    assert "stack_demo v1: now champion" in trained

    # Every store is PostgreSQL: the flow run in Prefect's database, the version in MLflow's, the
    # admin in the app's; the model files in the MLflow server's artifact folder.
    assert scalar(topology, "prefect",
                  "SELECT count(*) FROM flow_run JOIN flow ON flow.id = flow_run.flow_id "
                  "WHERE flow.name = 'train' AND flow_run.state_type = 'COMPLETED'") == 1  # fmt: skip
    assert (
        scalar(topology, "mlflow", "SELECT max(version) FROM model_versions WHERE name = 'stack_demo'") == 1
    )
    assert scalar(topology, "app", "SELECT role FROM users WHERE username = 'admin'") == "admin"
    assert any(path.is_file() for path in Path(topology.artifacts_dir).rglob("*"))

    # The API was already running: its alias watcher picks up the new champion.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready = httpx.get(f"{api}/readyz", timeout=5)
        if ready.status_code == 200 and ready.json()["models"].get("stack_demo") == "1":
            break
        time.sleep(1)
    else:
        pytest.fail(f"the API did not load the champion: {ready.text}")

    token = httpx.post(
        f"{api}/v1/auth/token", data={"username": "admin", "password": "a-long-admin-password"}, timeout=10
    ).json()["access_token"]
    response = httpx.post(
        f"{api}/v1/models/stack_demo/forecast",
        headers={"Authorization": f"Bearer {token}"},
        json={"series_ids": ["ATL", "ORD"], "horizon": 14, "levels": [80, 95]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == "1"
    forecasts = response.json()["forecasts"]
    assert [f["series_id"] for f in forecasts] == ["ATL", "ORD"]
    for forecast in forecasts:
        assert len(forecast["points"]) == 14
        point = forecast["points"][0]
        assert point["ds"] == "2013-12-04"
        for interval in point["intervals"]:
            assert interval["lower"] <= point["yhat"] <= interval["upper"]


def test_prometheus_scrapes_the_api(production_stack: Running) -> None:
    prometheus = f"http://127.0.0.1:{production_stack.topology.ports['prometheus']}"
    api_target = f"127.0.0.1:{production_stack.topology.ports['api']}"
    deadline = time.monotonic() + 60  # one scrape interval (15 s) and then some
    health: list[str] = []
    while time.monotonic() < deadline:
        targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        health = [t["health"] for t in targets if t["labels"]["instance"] == api_target]
        if health == ["up"]:
            break
        time.sleep(1)
    assert health == ["up"], targets
    result = httpx.get(f"{prometheus}/api/v1/query", params={"query": "up{job='astralytiq-api'}"}, timeout=5)
    assert result.json()["data"]["result"][0]["value"][1] == "1"


def test_portal_and_worker_run(production_stack: Running) -> None:
    portal = f"http://127.0.0.1:{production_stack.topology.ports['portal']}"
    assert httpx.get(f"{portal}/_stcore/health", timeout=5).text == "ok"
    assert httpx.get(portal, timeout=5).status_code == 200
    processes = production_stack.stack.processes
    assert all(process.poll() is None for process in processes.values()), {
        name: process.returncode for name, process in processes.items()
    }
    if production_stack.worker_started:
        assert "worker" in processes
    else:
        # Not a skip of the whole test: the rest of it ran. Say plainly what did not.
        print("`astralytiq worker` is not in this checkout: the worker service was not started")
    assert os.path.isdir(production_stack.topology.data_dir)
