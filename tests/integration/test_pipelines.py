"""Training through a real Prefect server: `prefect server start` on loopback, `astralytiq worker`
serving the deployments, runs triggered by `astralytiq run train` and by the API's pipelines
routes, followed to their completed state, and the version found in the real MLflow server."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Platform
from tests.support import BIN, REPO, free_port, start, stop, wait_http
from tests.support.factories import write_dataset

pytestmark = pytest.mark.slow

DATASET = "pipeline_demo"


@dataclass(frozen=True)
class PrefectStack:
    api_url: str
    env: dict[str, str]  # what a CLI process needs: the platform's settings and PREFECT_API_URL
    datasets_dir: Path


@pytest.fixture(scope="module")
def prefect_stack(platform_env: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    root = tmp_path_factory.mktemp("prefect-server")
    datasets = root / "datasets"
    datasets.mkdir()
    # Two series and one candidate: the runs here are about orchestration, not forecasting.
    # Any drift retrains (threshold 0): see the last test.
    write_dataset(datasets, DATASET, threshold=0.0, series=("ATL", "BOS"), candidates="seasonal_naive")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server_env = {
        "PREFECT_HOME": str(root / "server-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    server = start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        root / "server.log",
        server_env,
    )
    env = {
        **platform_env.env,
        "ASTRALYTIQ_DATASETS_DIR": str(datasets),
        "ASTRALYTIQ_TRAIN_JOBS": "1",
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(root / "worker-home"),
    }
    worker = None
    try:
        wait_http(f"{api_url}/health", 180, server)
        worker = start([str(BIN / "astralytiq"), "worker"], root / "worker.log", env)
        # Ready means polled, not only created: triggers are refused until a worker has polled
        # the deployment's pool (a run nobody takes would wait forever), and on a loaded machine
        # the first poll can come seconds after the deployment exists.
        deadline = time.monotonic() + 120
        while not _polled(httpx.get(f"{api_url}/deployments/name/train/{DATASET}")):
            assert worker.poll() is None, (root / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (root / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
        yield PrefectStack(api_url, env, datasets)
    finally:
        if worker is not None:
            stop(worker)
        stop(server)


def _polled(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.json().get("last_polled") is not None


def cli(stack: PrefectStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "astralytiq"), *args],
        capture_output=True,
        text=True,
        env={"PATH": str(BIN), "HOME": str(stack.datasets_dir.parent), **stack.env},
        cwd=REPO,
        timeout=600,
    )


@pytest.fixture(scope="module")
def api(
    platform_env: Platform, prefect_stack: PrefectStack, admin_credentials: tuple[str, str]
) -> Iterator[TestClient]:
    from astralytiq.accounts import create_user
    from astralytiq.settings import Settings
    from serving.app import create_app

    settings = Settings(prefect_api_url=prefect_stack.api_url, datasets_dir=prefect_stack.datasets_dir)
    create_user(settings.app_database_url, "pipeline-engineer", "engineer-password-1", "engineer")
    with TestClient(create_app(settings)) as client:
        yield client


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_run_train_follows_the_deployment_to_a_registered_version(
    platform_env: Platform, prefect_stack: PrefectStack
) -> None:
    from mlflow import MlflowClient

    result = cli(prefect_stack, "run", "train", DATASET)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert f"of train/{DATASET}: Scheduled" in out
    assert "state: Running" in out and "state: Completed" in out
    assert "idempotency key" in out  # the flow's own log lines, streamed while it runs
    assert "-> champion: first version of this model" in out
    versions = MlflowClient(platform_env.tracking_uri).search_model_versions(f"name = '{DATASET}'")
    assert [v.version for v in versions] == ["1"]
    assert versions[0].tags["gate_decision"] == "champion"


def test_run_names_what_is_missing(prefect_stack: PrefectStack) -> None:
    missing = cli(prefect_stack, "run", "train", "no_such_dataset")
    assert missing.returncode == 1
    assert "has no deployment train/no_such_dataset" in missing.stderr
    down_env = {**prefect_stack.env, "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    refused = subprocess.run(
        [str(BIN / "astralytiq"), "run", "train", DATASET],
        capture_output=True,
        text=True,
        env=down_env,
        timeout=60,
    )
    assert refused.returncode == 1 and "no Prefect server reachable" in refused.stderr


def test_pipelines_api_triggers_and_lists_runs(
    platform_env: Platform, prefect_stack: PrefectStack, api: TestClient, admin_credentials: tuple[str, str]
) -> None:

    engineer = login(api, "pipeline-engineer", "engineer-password-1")
    viewer = login(api, "viewer", "viewer-password-1")
    assert api.post("/v1/pipelines/train", json={"dataset": DATASET}, headers=viewer).status_code == 403
    unknown = api.post("/v1/pipelines/train", json={"dataset": "no_such_dataset"}, headers=engineer)
    assert unknown.status_code == 404 and "no_such_dataset" in unknown.json()["detail"]
    assert api.post("/v1/pipelines/train", json={"dataset": "Bad Name"}, headers=engineer).status_code == 422

    triggered = api.post("/v1/pipelines/train", json={"dataset": DATASET}, headers=engineer)
    assert triggered.status_code == 202, triggered.text
    body = triggered.json()
    assert set(body) == {"flow_run_id", "dataset", "state"}
    assert body["dataset"] == DATASET and body["state"] in {"SCHEDULED", "PENDING"}

    listed = api.get("/v1/pipelines/runs?limit=20", headers=viewer)
    assert listed.status_code == 200, listed.text
    runs = listed.json()
    assert runs[0]["id"] == body["flow_run_id"]  # most recent first
    assert all(
        set(r)
        == {"id", "name", "flow", "dataset", "state", "message", "started_at", "ended_at", "duration_seconds"}
        | {"prefect_url"}
        for r in runs
    )
    # The run `astralytiq run train` followed (first test): complete, with its times.
    done = next(r for r in runs if r["state"] == "COMPLETED" and r["flow"] == "train")
    assert done["dataset"] == DATASET and done["duration_seconds"] > 0
    assert done["started_at"] < done["ended_at"]
    assert len(api.get("/v1/pipelines/runs?limit=1", headers=viewer).json()) == 1
    assert api.get("/v1/pipelines/runs?limit=0", headers=viewer).status_code == 422
    assert api.get("/v1/pipelines/runs").status_code == 401
    from astralytiq.db import AuditEvent, session_scope
    from astralytiq.settings import get_settings

    with session_scope(get_settings().app_database_url) as session:
        event = session.query(AuditEvent).filter_by(action="pipeline.train").one()
        assert event.actor == "pipeline-engineer" and event.detail["flow_run_id"] == body["flow_run_id"]


def test_a_key_scoped_to_another_model_neither_trains_nor_sees_the_dataset(
    prefect_stack: PrefectStack, api: TestClient, admin_credentials: tuple[str, str]
) -> None:
    admin = login(api, *admin_credentials)

    def key(models: list[str]) -> dict[str, str]:
        body = {"name": "pipeline-key", "role": "engineer", "models": models}
        return {"X-API-Key": api.post("/v1/admin/api-keys", json=body, headers=admin).json()["key"]}

    other, mine = key(["some_other_model"]), key([DATASET])  # the spec's model is the dataset's name
    refused = api.post("/v1/pipelines/train", json={"dataset": DATASET}, headers=other)
    assert refused.status_code == 403 and "not allowed to use model" in refused.text
    assert api.get("/v1/pipelines/runs?limit=200", headers=other).json() == []
    seen = api.get("/v1/pipelines/runs?limit=200", headers=mine).json()
    assert seen and {r["dataset"] for r in seen} == {DATASET}


def test_a_run_of_a_spec_given_by_path_shows_no_path(
    prefect_stack: PrefectStack, api: TestClient, admin_credentials: tuple[str, str]
) -> None:
    """`astralytiq monitor /some/where/spec.yaml` and simulate-drift run flows with a path as the
    dataset: the API shows the spec's name, never a path on the server."""
    flow = httpx.get(f"{prefect_stack.api_url}/flows/name/train").json()
    path = str(prefect_stack.datasets_dir / f"{DATASET}.yaml")
    created = httpx.post(
        f"{prefect_stack.api_url}/flow_runs/", json={"flow_id": flow["id"], "parameters": {"dataset": path}}
    )
    assert created.status_code == 201, created.text
    runs = api.get("/v1/pipelines/runs?limit=200", headers=login(api, *admin_credentials)).json()
    shown = next(r for r in runs if r["id"] == created.json()["id"])
    assert shown["dataset"] == DATASET
    assert not [r for r in runs if "/" in (r["dataset"] or "")]


def test_a_trigger_nobody_would_take_is_refused_with_the_reason(
    prefect_stack: PrefectStack, admin_credentials: tuple[str, str], tmp_path: Path
) -> None:
    """A deployment no worker polls (its worker stopped, or never started): the API and the CLI
    answer 503 / exit 1 with the reason instead of queuing a run that would stay SCHEDULED."""
    from astralytiq.settings import Settings
    from serving.app import create_app

    orphan = "orphan_demo"
    # The spec lives in a folder only this API and CLI read: in the worker's folder the running
    # worker would serve it at its next look-up (every 15 s) and poll it, which is not the case here.
    write_dataset(tmp_path, orphan, series=("ATL",), candidates="seasonal_naive")
    settings = Settings(prefect_api_url=prefect_stack.api_url, datasets_dir=tmp_path)
    flow = httpx.get(f"{prefect_stack.api_url}/flows/name/train").json()
    # Prefect's server answers 503 while its SQLite store is busy (seen on a loaded machine):
    # creating the deployment is this test's set-up, so it is tried again, not what is checked.
    for _ in range(10):
        created = httpx.post(
            f"{prefect_stack.api_url}/deployments/",
            json={"name": orphan, "flow_id": flow["id"], "parameters": {"dataset": orphan}},
        )
        if created.status_code != 503:
            break
        time.sleep(1)
    assert created.status_code in (200, 201), created.text
    deployment_id = created.json()["id"]
    try:
        with TestClient(create_app(settings)) as api:
            headers = login(api, *admin_credentials)
            refused = api.post("/v1/pipelines/train", json={"dataset": orphan}, headers=headers)
        assert refused.status_code == 503, refused.text
        detail = refused.json()["detail"]
        assert f"no worker is serving train/{orphan} (polled never)" in detail
        assert "start `astralytiq worker`" in detail
        orphan_stack = PrefectStack(
            prefect_stack.api_url, {**prefect_stack.env, "ASTRALYTIQ_DATASETS_DIR": str(tmp_path)}, tmp_path
        )
        by_cli = cli(orphan_stack, "run", "train", orphan)
        assert by_cli.returncode == 1 and f"no worker is serving train/{orphan}" in by_cli.stderr
        runs = httpx.post(
            f"{prefect_stack.api_url}/flow_runs/filter",
            json={"flow_runs": {"deployment_id": {"any_": [deployment_id]}}},
        ).json()
        assert runs == []  # nothing was queued (the served dataset's trigger is accepted above)
    finally:
        httpx.delete(f"{prefect_stack.api_url}/deployments/{deployment_id}")


def test_a_dataset_added_at_run_time_is_served_by_the_running_worker(
    platform_env: Platform, prefect_stack: PrefectStack, api: TestClient, admin_credentials: tuple[str, str]
) -> None:
    """`astralytiq datasets add` while the worker runs: within its refresh its deployments are
    served (no restart), the API trains it, and the run completes with a registered version."""
    from mlflow import MlflowClient

    added = "added_sales"
    source = prefect_stack.datasets_dir.parent / "upload"
    source.mkdir()
    data = write_dataset(source, "upload", series=("ORD",), candidates="seasonal_naive").with_suffix(".csv")
    result = cli(prefect_stack, "datasets", "add", added, str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    deadline = time.monotonic() + 90
    while httpx.get(f"{prefect_stack.api_url}/deployments/name/train/{added}").status_code != 200:
        assert time.monotonic() < deadline, "the worker did not pick up the new dataset"
        time.sleep(1)
    deployment = httpx.get(f"{prefect_stack.api_url}/deployments/name/train/{added}").json()
    while deployment["last_polled"] is None:
        assert time.monotonic() < deadline, "the worker does not poll the new deployment"
        time.sleep(1)
        deployment = httpx.get(f"{prefect_stack.api_url}/deployments/name/train/{added}").json()
    headers = login(api, *admin_credentials)
    triggered = api.post("/v1/pipelines/train", json={"dataset": added}, headers=headers)
    assert triggered.status_code == 202, triggered.text
    run_id = triggered.json()["flow_run_id"]
    deadline = time.monotonic() + 600
    while (state := httpx.get(f"{prefect_stack.api_url}/flow_runs/{run_id}").json()["state_type"]) not in {
        "COMPLETED",
        "FAILED",
        "CRASHED",
    }:
        assert time.monotonic() < deadline, f"run still {state}"
        time.sleep(2)
    assert state == "COMPLETED"
    versions = MlflowClient(platform_env.tracking_uri).search_model_versions(f"name = '{added}'")
    assert [v.version for v in versions] == ["1"]


def _run_end(api_url: str, run_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = httpx.get(f"{api_url}/flow_runs/{run_id}").json()
        if run["state_type"] in {"COMPLETED", "FAILED", "CRASHED"}:
            return dict(run)
        assert time.monotonic() < deadline, f"run still {run['state_type']}"
        time.sleep(2)


def test_an_upload_through_the_api_is_checked_on_the_worker_before_it_is_stored(
    prefect_stack: PrefectStack, api: TestClient, admin_credentials: tuple[str, str]
) -> None:
    import csv
    import io

    headers = login(api, "pipeline-engineer", "engineer-password-1")
    source = prefect_stack.datasets_dir.parent / "uploads"
    source.mkdir(exist_ok=True)
    data = write_dataset(source, "good", series=("DEN",), candidates="seasonal_naive").with_suffix(".csv")
    rows = list(csv.reader(io.StringIO(data.read_text())))

    def upload(name: str, content: bytes, filename: str = "sales.csv", who: dict[str, str] = headers):  # type: ignore[no-untyped-def]
        return api.post(
            "/v1/datasets", data={"name": name}, files={"file": (filename, content, "text/csv")}, headers=who
        )

    viewer = login(api, "viewer", "viewer-password-1")
    assert upload("uploaded_sales", data.read_bytes(), who=viewer).status_code == 403
    for name, filename, code in (
        ("../evil", "a.csv", 422),
        ("Evil", "a.csv", 422),
        ("ok_name", "a.xlsx", 422),
    ):
        refused = upload(name, data.read_bytes(), filename)
        assert refused.status_code == code, refused.text
    assert upload("too_big", b"x" * 2_000_000).status_code == 413
    assert upload(DATASET, data.read_bytes()).status_code == 409  # a YAML spec has that name

    good = upload("uploaded_sales", data.read_bytes())
    assert good.status_code == 202, good.text
    assert _run_end(prefect_stack.api_url, good.json()["flow_run_id"])["state_type"] == "COMPLETED"
    listed = api.get("/v1/datasets", headers=viewer).json()
    assert {"name": "uploaded_sales", "kept": "added"} in listed and {
        "name": DATASET,
        "kept": "yaml",
    } in listed

    # Bad uploads are refused by the check, with the reason; nothing is stored.
    formula = [rows[0]] + [["=cmd|' /C calc'!A0", *row[1:]] for row in rows[1:]]
    bad = {
        "wrong_columns": b"a,b,c\n1,2,3\n",
        "not_utf8": b"series_id,ds,y\n\xff\xfe,2024-01-01,1\n",
        "formula_ids": "\n".join(",".join(row) for row in formula).encode(),
    }
    reasons = {"wrong_columns": "series_id", "not_utf8": "UTF-8", "formula_ids": "id_pattern"}
    for name, content in bad.items():
        submitted = upload(name, content)
        assert submitted.status_code == 202, submitted.text
        run = _run_end(prefect_stack.api_url, submitted.json()["flow_run_id"])
        assert run["state_type"] == "FAILED", run
        assert reasons[name] in run["state"]["message"], run["state"]["message"]
    names = {d["name"] for d in api.get("/v1/datasets", headers=viewer).json()}
    assert not names & set(bad)
    staged = prefect_stack.env["ASTRALYTIQ_DATA_DIR"] + "/dataset_store/_incoming"
    assert not list(Path(staged).glob("*"))  # staged uploads are removed either way


def test_pipelines_api_without_a_prefect_server_is_503(
    platform_env: Platform, prefect_stack: PrefectStack, admin_credentials: tuple[str, str]
) -> None:
    from astralytiq.settings import Settings
    from serving.app import create_app

    settings = Settings(
        prefect_api_url=f"http://127.0.0.1:{free_port()}/api", datasets_dir=prefect_stack.datasets_dir
    )
    with TestClient(create_app(settings)) as client:
        headers = login(client, *admin_credentials)
        runs = client.get("/v1/pipelines/runs", headers=headers)
        assert runs.status_code == 503 and "no Prefect server reachable" in runs.json()["detail"]
        assert "127.0.0.1" not in runs.text and "http" not in runs.text  # no internal address
        train = client.post("/v1/pipelines/train", json={"dataset": DATASET}, headers=headers)
        assert train.status_code == 503 and "\n" not in train.json()["detail"]


def test_drift_found_by_the_monitor_deployment_triggers_the_train_deployment(
    prefect_stack: PrefectStack, api: TestClient
) -> None:
    result = cli(prefect_stack, "run", "monitor", DATASET)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "retraining" in result.stdout and f"triggered train/{DATASET}" in result.stdout, result.stdout
    viewer = login(api, "viewer", "viewer-password-1")
    flow_run_id = re.search(r"triggered train/\S+: flow run \S+ \(([0-9a-f-]{36})\)", result.stdout)
    assert flow_run_id, result.stdout
    runs = api.get("/v1/pipelines/runs", headers=viewer).json()  # newest first
    ids = [r["id"] for r in runs]
    monitor = next(r for r in runs if r["flow"] == "monitor")
    assert monitor["state"] == "COMPLETED"
    assert ids.index(flow_run_id.group(1)) < ids.index(monitor["id"])  # started by the monitor run
    assert runs[ids.index(flow_run_id.group(1))]["flow"] == "train"


def _runs_of(api_url: str, deployment_id: str) -> list[dict]:
    found = httpx.post(
        f"{api_url}/flow_runs/filter",
        json={"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC"},
    )
    assert found.status_code == 200, found.text
    return list(found.json())


def _moment(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _wait(what: str, check, timeout: float, every: float = 1.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
    return found


def test_an_every_minute_schedule_fires_pauses_resumes_and_runs_are_cancelled_and_retried(
    platform_env: Platform, prefect_stack: PrefectStack, api: TestClient, admin_credentials: tuple[str, str]
) -> None:
    """A dataset whose spec says `schedule: "* * * * *"`, served by the running worker: the
    Pipelines routes show the schedule in words with its next run; a pause removes the runs
    Prefect scheduled ahead and none fires while paused; a resume schedules and fires it again.
    A run that failed (its data file was missing) is retried with the same parameters and
    completes; a scheduled run is cancelled. Every action is audited; a viewer may do none."""
    from mlflow import MlflowClient

    from astralytiq.db import AuditEvent, session_scope
    from astralytiq.settings import get_settings

    ticking = "ticking_demo"
    url = prefect_stack.api_url
    spec = write_dataset(prefect_stack.datasets_dir, ticking, series=("ATL",), candidates="seasonal_naive")
    spec.write_text(spec.read_text() + 'schedule: "* * * * *"\n')
    engineer = login(api, "pipeline-engineer", "engineer-password-1")
    viewer = login(api, "viewer", "viewer-password-1")
    deployment = _wait(
        "the worker to serve the new dataset",
        lambda: (
            (r := httpx.get(f"{url}/deployments/name/train/{ticking}")).status_code == 200
            and r.json()["last_polled"]
            and r.json()
        ),
        120,
    )
    try:

        def listed() -> dict:
            answer = api.get("/v1/pipelines/schedules", headers=viewer)
            assert answer.status_code == 200, answer.text
            return next(s for s in answer.json() if (s["flow"], s["dataset"]) == ("train", ticking))

        shown = _wait("Prefect to schedule the next runs", lambda: (s := listed())["next_run_at"] and s, 30)
        assert shown["schedule"] == "every minute (UTC)" and shown["paused"] is False
        assert shown["prefect_url"] is None  # no Prefect UI address configured here
        monitor = next(
            s for s in api.get("/v1/pipelines/schedules", headers=viewer).json() if s["flow"] == "monitor"
        )
        assert monitor["schedule"] is None  # on demand only

        path = f"/v1/pipelines/schedules/train/{ticking}"
        assert api.post(f"{path}/pause", headers=viewer).status_code == 403
        assert api.post("/v1/pipelines/schedules/train/no_such/pause", headers=engineer).status_code == 404
        assert (
            api.post(f"/v1/pipelines/schedules/deploy/{ticking}/pause", headers=engineer).status_code == 422
        )
        paused = api.post(f"{path}/pause", headers=engineer)
        paused_at = time.time()
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True and paused.json()["next_run_at"] is None
        # What is left was handed to the worker before the pause (it takes a run a few seconds
        # ahead of its time): not Prefect's to take back, so it runs.
        claimed = {r["id"] for r in _runs_of(url, deployment["id"])}
        assert not [r for r in _runs_of(url, deployment["id"]) if r["state_type"] == "SCHEDULED"]

        # A failed run: the data file is away while it runs. Its reason and log show no path.
        data = prefect_stack.datasets_dir / f"{ticking}.csv"
        data.rename(data.with_suffix(".away"))
        try:
            triggered = api.post("/v1/pipelines/train", json={"dataset": ticking}, headers=engineer)
            assert triggered.status_code == 202, triggered.text
            failed_id = triggered.json()["flow_run_id"]
            assert _run_end(url, failed_id, 300)["state_type"] == "FAILED"
        finally:
            data.with_suffix(".away").rename(data)
        failed = next(
            r for r in api.get("/v1/pipelines/runs?limit=200", headers=viewer).json() if r["id"] == failed_id
        )
        assert failed["state"] == "FAILED" and failed["message"] and failed["prefect_url"] is None
        logs = api.get(f"/v1/pipelines/runs/{failed_id}/logs?limit=5", headers=viewer)
        assert logs.status_code == 200, logs.text
        page = logs.json()
        assert (
            len(page["lines"]) == 5
            and page["next_offset"] == 5
            and page["lines"][0]["level"]
            in {
                "INFO",
                "DEBUG",
            }
        )
        rest = api.get(f"/v1/pipelines/runs/{failed_id}/logs?offset=5&limit=200", headers=viewer).json()
        shown_text = failed["message"] + "".join(line["message"] for line in page["lines"] + rest["lines"])
        assert f"{ticking}.csv" in shown_text, shown_text[-3000:]
        assert str(prefect_stack.datasets_dir) not in shown_text, shown_text[-3000:]
        assert api.get(f"/v1/pipelines/runs/{failed_id}/logs?limit=201", headers=viewer).status_code == 422
        assert api.get("/v1/pipelines/runs/not-a-run/logs", headers=viewer).status_code == 422
        unknown = "00000000-0000-4000-8000-000000000000"
        assert api.get(f"/v1/pipelines/runs/{unknown}/logs", headers=viewer).status_code == 404

        # Retry: a new run of the same deployment with the same parameters, which completes now.
        assert api.post(f"/v1/pipelines/runs/{failed_id}/retry", headers=viewer).status_code == 403
        retried = api.post(f"/v1/pipelines/runs/{failed_id}/retry", headers=engineer)
        assert retried.status_code == 202, retried.text
        retry_id = retried.json()["id"]
        assert retry_id != failed_id and retried.json()["dataset"] == ticking
        retry_run = httpx.get(f"{url}/flow_runs/{retry_id}").json()
        failed_run = httpx.get(f"{url}/flow_runs/{failed_id}").json()
        assert retry_run["deployment_id"] == failed_run["deployment_id"] == deployment["id"]
        assert retry_run["parameters"] == failed_run["parameters"] == {"dataset": ticking}
        assert _run_end(url, retry_id, 300)["state_type"] == "COMPLETED"
        versions = MlflowClient(platform_env.tracking_uri).search_model_versions(f"name = '{ticking}'")
        assert [v.version for v in versions] == ["1"]
        again = api.post(f"/v1/pipelines/runs/{retry_id}/retry", headers=engineer)
        assert (
            again.status_code == 409 and "only a failed, crashed or cancelled run" in again.json()["detail"]
        )

        # Paused: no scheduled run is left or made again, and none fired. Past a minute's turn
        # (and a worker poll) since the pause, so an every-minute schedule would have fired.
        next_turn = (int(paused_at) // 60 + 1) * 60 + 12
        time.sleep(max(0.0, next_turn - time.time()))
        runs = _runs_of(url, deployment["id"])
        assert not [r for r in runs if r["state_type"] == "SCHEDULED"]
        assert not [r for r in runs if r["auto_scheduled"] and r["id"] not in claimed], runs

        resumed = api.post(f"{path}/resume", headers=engineer)
        assert resumed.status_code == 200 and resumed.json()["paused"] is False, resumed.text
        upcoming = _wait("the resumed schedule's next run", lambda: listed()["next_run_at"], 30)
        # It fires: an automatically scheduled run is taken by the worker and completes with the
        # same model (training is idempotent: the version that holds this data is kept).
        fired = _wait(
            "the schedule to fire",
            lambda: [
                r
                for r in _runs_of(url, deployment["id"])
                if r["auto_scheduled"] and r["start_time"] and r["id"] not in claimed
            ],
            100,
            every=2,
        )
        assert _moment(fired[0]["expected_start_time"]) >= _moment(upcoming) - 1
        assert _run_end(url, fired[0]["id"], 300)["state_type"] == "COMPLETED"
        versions = MlflowClient(platform_env.tracking_uri).search_model_versions(f"name = '{ticking}'")
        assert [v.version for v in versions] == ["1"]

        # Cancel the next scheduled run: nobody has taken it, so it is cancelled at once.
        scheduled = _wait(
            "a scheduled run",
            lambda: [r for r in _runs_of(url, deployment["id"]) if r["state_type"] == "SCHEDULED"],
            30,
        )
        assert api.post(f"/v1/pipelines/runs/{scheduled[-1]['id']}/cancel", headers=viewer).status_code == 403
        cancelled = api.post(f"/v1/pipelines/runs/{scheduled[-1]['id']}/cancel", headers=engineer)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "CANCELLED", cancelled.text
        done = api.post(f"/v1/pipelines/runs/{retry_id}/cancel", headers=engineer)
        assert done.status_code == 409 and "only a scheduled, pending or running run" in done.json()["detail"]

        with session_scope(get_settings().app_database_url) as session:
            actions = {
                e.action: e
                for e in session.query(AuditEvent).filter_by(target=ticking, actor="pipeline-engineer")
            }
        assert {"pipeline.pause", "pipeline.resume", "pipeline.retry", "pipeline.cancel"} <= set(actions)
        assert actions["pipeline.retry"].detail == {"flow_run_id": retry_id, "retry_of": failed_id}
        assert actions["pipeline.cancel"].detail["flow_run_id"] == scheduled[-1]["id"]
    finally:
        # Stop the schedule for the rest of the module (a run every minute would load the machine).
        httpx.post(f"{url}/deployments/{deployment['id']}/pause_deployment")


def test_a_key_scoped_to_another_model_sees_no_schedule_and_no_log(
    prefect_stack: PrefectStack, api: TestClient, admin_credentials: tuple[str, str]
) -> None:
    admin = login(api, *admin_credentials)
    body = {"name": "schedule-key", "role": "engineer", "models": ["some_other_model"]}
    other = {"X-API-Key": api.post("/v1/admin/api-keys", json=body, headers=admin).json()["key"]}
    assert api.get("/v1/pipelines/schedules", headers=other).json() == []
    listed = api.get("/v1/pipelines/schedules", headers=admin).json()
    assert {("train", DATASET), ("monitor", DATASET), ("forecast", DATASET)} <= {
        (s["flow"], s["dataset"]) for s in listed
    }
    refused = api.post(f"/v1/pipelines/schedules/train/{DATASET}/pause", headers=other)
    assert refused.status_code == 403 and "not allowed to use model" in refused.text
    # A run of the dataset (without a deployment, so nothing runs it): the key may not see it.
    flow = httpx.get(f"{prefect_stack.api_url}/flows/name/train").json()
    run = httpx.post(
        f"{prefect_stack.api_url}/flow_runs/",
        json={"flow_id": flow["id"], "parameters": {"dataset": DATASET}},
    ).json()
    assert api.get(f"/v1/pipelines/runs/{run['id']}/logs", headers=admin).status_code == 200
    for answer in (
        api.get(f"/v1/pipelines/runs/{run['id']}/logs", headers=other),
        api.post(f"/v1/pipelines/runs/{run['id']}/retry", headers=other),
        api.post(f"/v1/pipelines/runs/{run['id']}/cancel", headers=other),
    ):
        assert answer.status_code == 404 and run["id"] in answer.json()["detail"]
