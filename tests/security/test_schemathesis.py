"""schemathesis against the running API's own OpenAPI, logged in as an admin: every check it has
(no 5xx, statuses, headers and bodies as documented, invalid input refused and valid input
accepted, 405 with the right Allow, resources gone after a delete, auth not ignored) over every
operation, in its four phases: the schema's examples, the coverage phase (boundary values:
levels next to 100, integers past 2^63-1, non-ASCII paths), random fuzzing, and stateful runs
along the document's links (a key created then revoked, a model listed then forecast).

The API runs as a real process with its own app database; champion changes go to a model
registered for this test only (tests/security/fuzz_hooks.py), and the Prefect server has the
training deployments, so every route answers as in production. `make test` runs it at a fixed
seed with ASTRALYTIQ_FUZZ_EXAMPLES (default 15) examples per operation; `make fuzz` with 100.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Platform
from tests.integration.serving_support import register, set_champion
from tests.security.api_process import ApiProcess, api_process, prepare_database
from tests.support import BIN, REPO
from tests.unit.test_bundle_loader import bundle

FUZZ_MODEL = "fuzz_model"
EXAMPLES = int(os.environ.get("ASTRALYTIQ_FUZZ_EXAMPLES", "15"))
SEED = int(os.environ.get("ASTRALYTIQ_FUZZ_SEED", "16"))
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


@pytest.fixture(scope="module")
def fuzzed_api(
    platform_env: Platform, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    from prefect.settings import PREFECT_API_URL

    from data_contracts.spec import available_datasets

    first = register(platform_env.tracking_uri, FUZZ_MODEL, bundle(FUZZ_MODEL, mean=10.0).to_json())
    register(platform_env.tracking_uri, FUZZ_MODEL, bundle(FUZZ_MODEL, mean=20.0).to_json())
    set_champion(platform_env.tracking_uri, FUZZ_MODEL, first)
    prefect_url = str(PREFECT_API_URL.value())
    create_training_deployments(prefect_url, available_datasets(REPO / "datasets"))
    data_dir: Path = tmp_path_factory.mktemp("fuzzed-api")
    prepare_database(data_dir)
    # Generous login limits: the fuzzer's failed logins are not what is tested here.
    extra = {
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_ACCOUNT": "100000",
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
        "PREFECT_API_URL": prefect_url,
        "ASTRALYTIQ_PREFECT_API_URL": prefect_url,
    }
    with api_process(platform_env, data_dir, extra) as api:
        yield api


def fuzz(api: ApiProcess, examples: int, seed: int, report: Path) -> subprocess.CompletedProcess[str]:
    admin = api.token("admin", "admin-password-1")
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG),
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
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=3600)


def test_the_api_honours_its_openapi(fuzzed_api: ApiProcess, tmp_path: Path) -> None:
    spec = httpx.get(f"{fuzzed_api.url}/openapi.json").json()
    operations = sum(len(item) for item in spec["paths"].values())
    assert operations >= 25  # every route of the API, not a subset
    started = time.monotonic()
    result = fuzz(fuzzed_api, EXAMPLES, SEED, tmp_path / "junit.xml")
    took = time.monotonic() - started
    summary = result.stdout[-6000:]
    print(
        f"schemathesis: {EXAMPLES} examples per operation, seed {SEED}, {took:.0f} s\n{summary}",
        file=sys.stderr,
    )
    assert result.returncode == 0, f"{summary}\n{result.stderr[-3000:]}"
    assert "No issues found" in result.stdout or " passed" in result.stdout, summary


def test_the_document_links_name_operations_that_exist(fuzzed_api: ApiProcess) -> None:
    spec = httpx.get(f"{fuzzed_api.url}/openapi.json").json()
    ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    links = [
        link
        for item in spec["paths"].values()
        for op in item.values()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 10 and all(link["operationId"] in ids for link in links)
