"""schemathesis against the running API's own OpenAPI, logged in as an admin: every check it has
(no 5xx, statuses, headers and bodies as documented, invalid input refused and valid input
accepted, 405 with the right Allow, resources gone after a delete, auth not ignored) over every
operation, in its four phases: the schema's examples, the coverage phase (boundary values:
levels next to 100, integers past 2^63-1, non-ASCII paths), random fuzzing, and stateful runs
along the document's links (a key created then revoked, a model listed then forecast).

The API runs as a real process with its own app database; champion changes go to a model
registered for this test only (tests/security/fuzz_hooks.py), and the Prefect server has the
training deployments, so every route answers as in production. `make test` runs it at a fixed
seed with ASTRALYTIQ_FUZZ_EXAMPLES (default 25) examples per operation; `make fuzz` with 100.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.bundle import ForecastBundle
from tests.conftest import Platform
from tests.support import BIN, REPO
from tests.support.api_process import ApiProcess, api_process, prepare_database
from tests.support.factories import bundle, register, set_champion

FUZZ_MODEL = "fuzz_model"
EXAMPLES = int(os.environ.get("ASTRALYTIQ_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("ASTRALYTIQ_FUZZ_SEED", "16"))
RESULT_FILE = os.environ.get("ASTRALYTIQ_FUZZ_RESULT", "")
CONFIG = Path(__file__).with_name("schemathesis.toml")


def create_training_deployments(prefect_url: str, datasets: list[str]) -> None:
    """What `astralytiq worker` registers, without a worker: runs it starts stay scheduled."""
    flow = httpx.post(f"{prefect_url}/flows/", json={"name": "train"}, timeout=30).json()
    for dataset in datasets:
        created = httpx.post(
            f"{prefect_url}/deployments/",
            json={"name": dataset, "flow_id": flow["id"], "parameters": {"dataset": dataset}},
            timeout=30,
        )
        assert created.status_code in (200, 201), created.text


def fuzz_bundle(mean: float, horizon: int = 28) -> ForecastBundle:
    """The fuzzed model answers what the OpenAPI examples ask (ATL, BOS and ORD, 14 and 28 steps),
    so the fuzzer's variations of them reach the forecast itself."""
    base = bundle(FUZZ_MODEL, series=3, mean=mean)
    dates = [f"2024-{1 + d // 28:02d}-{1 + d % 28:02d}" for d in range(horizon)]
    renamed = {
        new: replace(
            entry,
            series_id=new,
            dates=dates,
            mean=[mean + i] * horizon,
            sigma=[1.0 + 0.1 * step for step in range(horizon)],
        )
        for i, (new, entry) in enumerate(zip(("ATL", "BOS", "ORD"), base.series.values(), strict=True))
    }
    return replace(base, series=renamed, max_horizon=horizon)


def store_contract_run(tracking_uri: str, tmp: Path) -> str:
    """A failed contract check kept in MLflow with its Data Docs, as a flow keeps one."""
    import pandas as pd

    from data_contracts.contract import load_contract
    from data_contracts.validation import run_contract
    from registry.tracking import log_contract_failure

    frame = pd.DataFrame(
        {"series_id": "ATL", "ds": pd.date_range("2024-01-01", periods=5), "y": [1.0, 2, -3, 4, 5]}
    ).assign(temp_mean_f=50.0, precip_in=0.0)
    report = run_contract(frame, load_contract("nyc_flights"), "D", tmp / "docs")
    return log_contract_failure(
        report, tracking_uri=tracking_uri, experiment="fuzz_contracts", tags={"dataset": "nyc_flights"}
    )


def store_drift_report(data_dir: Path) -> int:
    from astralytiq.db import DriftReport, session_scope

    path = data_dir / "reports" / "fuzz.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<!DOCTYPE html><html><body>drift</body></html>")
    moment = datetime(2024, 1, 1)
    with session_scope(f"sqlite:///{data_dir / 'app.db'}") as session:
        row = DriftReport(
            model_name=FUZZ_MODEL, model_version="1", reference_start=moment, reference_end=moment,
            current_start=moment, current_end=moment, drift_share=0.0, dataset_drift=False,
            features={}, report_path=str(path),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


@dataclass(frozen=True)
class FuzzedApi:
    api: ApiProcess
    contract_run: str
    drift_report: int


@pytest.fixture(scope="module")
def fuzzed_api(
    platform_env: Platform, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzedApi]:
    from prefect.settings import PREFECT_API_URL

    from data_contracts.spec import available_datasets

    first = register(platform_env.tracking_uri, FUZZ_MODEL, fuzz_bundle(10.0).to_json())
    register(platform_env.tracking_uri, FUZZ_MODEL, fuzz_bundle(20.0).to_json())
    set_champion(platform_env.tracking_uri, FUZZ_MODEL, first)
    prefect_url = str(PREFECT_API_URL.value())
    create_training_deployments(prefect_url, available_datasets(REPO / "datasets"))
    data_dir: Path = tmp_path_factory.mktemp("fuzzed-api")
    prepare_database(data_dir)
    contract_run = store_contract_run(platform_env.tracking_uri, tmp_path_factory.mktemp("fuzz-contract"))
    drift_report = store_drift_report(data_dir)
    # Generous login limits: the fuzzer's failed logins are not what is tested here.
    extra = {
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_ACCOUNT": "100000",
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
        "PREFECT_API_URL": prefect_url,
        "ASTRALYTIQ_PREFECT_API_URL": prefect_url,
    }
    with api_process(platform_env, data_dir, extra) as api:
        yield FuzzedApi(api, contract_run, drift_report)


def fuzz(
    api: ApiProcess, examples: int, seed: int, report: Path, stored: dict[str, list[Any]] | None = None
) -> subprocess.CompletedProcess[str]:
    """The schemathesis CLI against ``api`` as its admin; ``stored``: path parameter -> ids of
    resources that exist, generated for three requests in four."""
    admin = api.token("admin", "admin-password-1")
    config = CONFIG.read_text()
    for parameter, values in (stored or {}).items():
        config += f"\n[dictionaries.{parameter}]\nvalues = {json.dumps(values)}\n"
        config += f'\n[[operations]]\ninclude-path-regex = "\\\\{{{parameter}\\\\}}"\n'
        config += (
            f'parameters = {{ "path.{parameter}" = {{ dictionary = "{parameter}", probability = 0.75 }} }}\n'
        )
    config_file = report.with_name("schemathesis.toml")
    config_file.write_text(config)
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config_file),
        "run",
        f"{api.url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--header",
        f"Authorization: {admin['Authorization']}",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.security.fuzz_hooks",
        "ASTRALYTIQ_FUZZ_MODEL": FUZZ_MODEL,
        "PYTHONPATH": str(REPO),
    }
    # Run from the report's folder: schemathesis keeps a cache (.schemathesis/) where it runs.
    return subprocess.run(command, capture_output=True, text=True, cwd=report.parent, env=env, timeout=3600)


def test_the_api_honours_its_openapi(fuzzed_api: FuzzedApi, tmp_path: Path) -> None:
    spec = httpx.get(f"{fuzzed_api.api.url}/openapi.json").json()
    operations = sum(len(item) for item in spec["paths"].values())
    assert operations >= 25  # every route of the API, not a subset
    started = time.monotonic()
    stored: dict[str, list[Any]] = {
        "run_id": [fuzzed_api.contract_run],
        "report_id": [fuzzed_api.drift_report],
    }
    result = fuzz(fuzzed_api.api, EXAMPLES, SEED, tmp_path / "junit.xml", stored)
    took = time.monotonic() - started
    summary = result.stdout[-6000:]
    headline = f"schemathesis: {EXAMPLES} examples per operation, seed {SEED}, {took:.0f} s"
    print(f"{headline}\n{summary}", file=sys.stderr)
    if RESULT_FILE:  # `make fuzz` keeps its run, so the README's figure is a file, not a memory
        Path(RESULT_FILE).write_text(f"{headline}, exit code {result.returncode}\n{summary}")
    assert result.returncode == 0, f"{summary}\n{result.stderr[-3000:]}"
    assert "No issues found" in result.stdout or " passed" in result.stdout, summary


def test_the_document_links_name_operations_that_exist(fuzzed_api: FuzzedApi) -> None:
    spec = httpx.get(f"{fuzzed_api.api.url}/openapi.json").json()
    ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    links = [
        link
        for item in spec["paths"].values()
        for op in item.values()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 10 and all(link["operationId"] in ids for link in links)
