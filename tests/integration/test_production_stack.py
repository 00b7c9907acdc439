"""The production path on this machine: docker-compose.yml's services as real processes.

infra/run_production_stack.py starts them with compose's commands and environment (a unit test
holds the two equal): an MLflow server and a Prefect server on PostgreSQL, the worker serving
the flow deployments, the API and the portal from their images' slim package sets, Prometheus.
A training run is triggered on the Prefect server, executed by the worker, registered in MLflow,
and the already running API serves the new champion. Nothing is mocked; each test database is
created here and dropped afterwards.
"""

from __future__ import annotations

import csv
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from astralytiq import migrations
from infra.run_production_stack import (
    COMPOSE,
    Stack,
    Topology,
    build_role_environment,
    clean_environment,
    create_databases,
    drop_databases,
    native_topology,
    run_stack,
    services,
)
from tests.support import BIN, REPO, free_port, postgres

pytestmark = pytest.mark.slow

# A reduced demo: 4 real series and two cheap candidates keep the training to seconds; the code
# path (contract, backtest, selection, MLflow registration, champion gate) is the full one. Its
# schedule (yearly, so no scheduled run starts during the test) must reach the Prefect scheduler.
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
schedule: "0 6 1 1 *"
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
    ports = {name: free_port() for name in COMPOSE.ports}
    prefix = f"astralytiq_stack_{uuid.uuid4().hex[:8]}"
    topology = native_topology(workdir, ports, postgres.ADDRESS, prefix, secrets.token_urlsafe(48))
    topology = replace(topology, datasets_dir=str(workdir / "datasets"))
    write_reduced_dataset(workdir / "datasets")
    # The api and portal run from the packages their images install, not from the dev venv.
    bin_dirs = {
        role: build_role_environment(role, workdir / f"{role}-env", uv()) for role in ("api", "portal")
    }
    table = services(topology)
    create_databases(topology, postgres.ADMIN_URL)
    try:
        with run_stack(topology, workdir / "logs", list(table), bin_dirs, echo=lambda _: None) as stack:
            yield Running(stack, topology, table)
    finally:
        drop_databases(topology, postgres.ADMIN_URL)


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
    engine = create_engine(postgres.url_of(topology.databases[component]))
    try:
        with engine.connect() as conn:
            return conn.scalar(text(query))
    finally:
        engine.dispose()


def resident_mib(running: Running, service: str) -> float:
    """Resident memory of a service's process (the serve and portal commands exec in place)."""
    status = Path(f"/proc/{running.stack.processes[service].pid}/status").read_text()
    (kib,) = re.findall(r"^VmRSS:\s+(\d+) kB", status, flags=re.MULTILINE)
    return int(kib) / 1024


def k8s_memory_request_mib(manifest: str) -> float:
    (deployment,) = [
        d
        for d in yaml.safe_load_all((REPO / "infra" / "k8s" / manifest).read_text())
        if d["kind"] == "Deployment"
    ]
    memory = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"]
    assert memory.endswith("Mi"), memory
    return float(memory.removesuffix("Mi"))


def prefect_api(running: Running, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"http://127.0.0.1:{running.topology.ports['prefect']}/api{path}"
    response = httpx.request(method, url, json=body, timeout=10)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


def test_train_through_the_worker_on_postgres_then_serve(production_stack: Running) -> None:
    running, topology = production_stack, production_stack.topology
    api = f"http://127.0.0.1:{topology.ports['api']}"

    # The one-off commands of the compose README: an admin, then a run of the worker's training
    # deployment, followed to its end (`--watch` exits non-zero unless the run completes).
    run_as(running, "api", ["astralytiq", "users", "create", "admin", "--role", "admin", "--password-stdin"],
           stdin="a-long-admin-password\n")  # fmt: skip
    triggered = run_as(running, "worker", ["prefect", "deployment", "run", "train/stack_demo", "--watch"])
    match = re.search(r"UUID: ([0-9a-f-]{36})", triggered)
    assert match, triggered
    flow_run_id = match.group(1)

    # The Prefect server's API knows the run: completed, from the deployment the worker serves,
    # with the flow's own log lines; and the worker ran it (its process wrote the run's output).
    deployment = prefect_api(running, "GET", "/deployments/name/train/stack_demo")
    flow_run = prefect_api(running, "GET", f"/flow_runs/{flow_run_id}")
    assert flow_run["deployment_id"] == deployment["id"]
    assert flow_run["state"]["type"] == "COMPLETED", flow_run["state"]
    logs = prefect_api(running, "POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}}})
    messages = [log["message"] for log in logs]
    assert f"Beginning flow run '{flow_run['name']}' for flow 'train'" in messages, messages
    worker_log = (running.stack.log_dir / "worker.log").read_text()
    assert flow_run_id in worker_log or f"'{flow_run['name']}'" in worker_log, worker_log[-3000:]

    # Every store is PostgreSQL: the run in Prefect's database, the version and its alias in
    # MLflow's, the admin in the app's (migrated to head); model files in the MLflow server's
    # artifact folder, served through the server (mlflow-artifacts:), and no SQLite file anywhere.
    assert scalar(topology, "prefect",
                  f"SELECT state_type FROM flow_run WHERE id = '{flow_run_id}'") == "COMPLETED"  # fmt: skip
    assert scalar(topology, "mlflow",
                  "SELECT version FROM registered_model_aliases "
                  "WHERE name = 'stack_demo' AND alias = 'champion'") == 1  # fmt: skip
    assert scalar(topology, "mlflow",
                  "SELECT count(*) FROM runs JOIN experiments USING (experiment_id) "
                  "WHERE experiments.name = 'stack_demo' AND runs.status = 'FINISHED' "
                  "AND runs.artifact_uri LIKE 'mlflow-artifacts:%'") == 1  # fmt: skip
    assert scalar(topology, "app", "SELECT role FROM users WHERE username = 'admin'") == "admin"
    head = ScriptDirectory(str(migrations.__path__[0])).get_current_head()
    assert scalar(topology, "app", "SELECT version_num FROM alembic_version") == head
    assert any(path.is_file() for path in Path(topology.artifacts_dir).rglob("*"))
    # The services' working directory and PREFECT_HOME: where a SQLite fallback would land.
    fallbacks = [
        p for p in Path(topology.data_dir).rglob("*") if p.suffix in (".db", ".sqlite") or p.name == "mlruns"
    ]
    assert fallbacks == [], "a component fell back to a local store"

    token = httpx.post(
        f"{api}/v1/auth/token", data={"username": "admin", "password": "a-long-admin-password"}, timeout=10
    ).json()["access_token"]
    # The API was already running: its alias watcher picks up the new champion (what /readyz
    # serves is for a person or the metrics token, not for anonymous callers).
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready = httpx.get(f"{api}/readyz", timeout=5, headers={"Authorization": f"Bearer {token}"})
        if ready.status_code == 200 and (ready.json().get("models") or {}).get("stack_demo") == "1":
            break
        time.sleep(1)
    else:
        pytest.fail(f"the API did not load the champion: {ready.text}")

    response = httpx.post(
        f"{api}/v1/models/stack_demo/forecast",
        headers={"Authorization": f"Bearer {token}"},
        json={"series_ids": ["ATL", "ORD"], "horizon": 14, "levels": [80, 95]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == "1"
    # The API reaches the Prefect server compose gives it: /v1/pipelines lists the worker's run.
    runs = httpx.get(f"{api}/v1/pipelines/runs", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert runs.status_code == 200, runs.text
    assert flow_run_id in [run["id"] for run in runs.json()], runs.text
    forecasts = response.json()["forecasts"]
    assert [f["series_id"] for f in forecasts] == ["ATL", "ORD"]
    for forecast in forecasts:
        assert len(forecast["points"]) == 14
        point = forecast["points"][0]
        assert point["ds"] == "2013-12-04"
        for interval in point["intervals"]:
            assert interval["lower"] <= point["yhat"] <= interval["upper"]

    # The Kubernetes memory request is what the scheduler reserves per pod: the API, having
    # served a forecast of its champion, fits in it (figures in infra/k8s/api.yaml).
    rss, request = resident_mib(running, "api"), k8s_memory_request_mib("api.yaml")
    print(f"api RSS {rss:.0f} MiB, Kubernetes request {request:.0f} MiB")
    assert rss <= request

    # The same training again with `astralytiq run train`, followed to its end: its idempotency
    # key (a version tag in MLflow's PostgreSQL store) finds v1, so nothing new is registered.
    rerun = run_as(running, "worker", ["astralytiq", "run", "train", "stack_demo"])
    assert "state: Running" in rerun and "state: Completed" in rerun, rerun
    assert "v1 already holds this training" in rerun, rerun
    assert scalar(topology, "mlflow",
                  "SELECT count(*) FROM model_versions WHERE name = 'stack_demo'") == 1  # fmt: skip


def test_the_prefect_server_schedules_the_worker_deployments(production_stack: Running) -> None:
    """The spec's cron schedule reaches the Prefect server, whose scheduler creates the runs
    the worker will pick up (it did not with SQLAlchemy 2.1: see pyproject.toml)."""
    deployment = prefect_api(production_stack, "GET", "/deployments/name/train/stack_demo")
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 6 1 1 *"]
    query = {
        "flow_runs": {
            "deployment_id": {"any_": [deployment["id"]]},
            "state": {"type": {"any_": ["SCHEDULED"]}},
        }
    }
    scheduled: list[dict[str, Any]] = []
    deadline = time.monotonic() + 90  # the scheduler's loop visits new deployments within seconds
    while time.monotonic() < deadline and not scheduled:
        scheduled = [
            r
            for r in prefect_api(production_stack, "POST", "/flow_runs/filter", query)
            if r["auto_scheduled"]
        ]
        time.sleep(1)
    assert scheduled, (production_stack.stack.log_dir / "prefect.log").read_text()[-3000:]
    assert all(run["expected_start_time"][5:16] == "01-01T06:00" for run in scheduled)


def test_prometheus_scrapes_the_api(production_stack: Running) -> None:
    prometheus = f"http://127.0.0.1:{production_stack.topology.ports['prometheus']}"
    api_target = f"127.0.0.1:{production_stack.topology.ports['api-metrics']}"
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


def test_alerts_go_through_alertmanager_to_the_api_on_postgres(production_stack: Running) -> None:
    """Prometheus sends to the stack's Alertmanager, and an alert given to that Alertmanager
    reaches the API's receiver with the token the API was started with (compose's secret) and
    lands in the app database. The production grouping waits 10 s before the first notification."""
    topology = production_stack.topology
    prometheus = f"http://127.0.0.1:{topology.ports['prometheus']}"
    alertmanager = f"http://127.0.0.1:{topology.ports['alertmanager']}"
    deadline = time.monotonic() + 60
    while not httpx.get(f"{prometheus}/api/v1/alertmanagers", timeout=5).json()["data"][
        "activeAlertmanagers"
    ]:
        assert time.monotonic() < deadline, "Prometheus found no Alertmanager"
        time.sleep(1)
    probe = {
        "labels": {"alertname": "StackProbe", "model": "stack_demo", "severity": "warning"},
        "annotations": {"summary": "a probe of the alert path"},
        "startsAt": datetime.now(UTC).isoformat(),
    }
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=[probe], timeout=5).status_code == 200
    deadline = time.monotonic() + 60
    query = "SELECT status FROM alerts WHERE alertname = 'StackProbe' AND model_name = 'stack_demo'"
    while (status := scalar(topology, "app", query)) is None:
        assert time.monotonic() < deadline, "the API recorded no alert from Alertmanager"
        time.sleep(1)
    assert status == "firing"


def test_portal_and_worker_run(production_stack: Running) -> None:
    portal = f"http://127.0.0.1:{production_stack.topology.ports['portal']}"
    assert httpx.get(f"{portal}/_stcore/health", timeout=5).text == "ok"
    assert httpx.get(portal, timeout=5).status_code == 200
    worker = f"http://127.0.0.1:{production_stack.topology.ports['worker']}"
    assert httpx.get(f"{worker}/health", timeout=5).json() == {"message": "OK"}
    processes = production_stack.stack.processes
    assert set(processes) == set(production_stack.table)
    assert all(process.poll() is None for process in processes.values()), {
        name: process.returncode for name, process in processes.items()
    }
    rss, request = resident_mib(production_stack, "portal"), k8s_memory_request_mib("portal.yaml")
    print(f"portal RSS {rss:.0f} MiB, Kubernetes request {request:.0f} MiB")
    assert rss <= request
