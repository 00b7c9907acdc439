"""Roll-forward end to end: a real training, then new actuals appended to the source; the forecast
flow and the monitor flow publish snapshots (MLflow artifact + app database row) and the API,
without a retrain, answers from the new origin with the same model version; a past snapshot still
answers by id with the numbers it gave then."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Platform
from tests.support.factories import delete_model, write_dataset

NAME = "rolling_demo"
BODY = {"series_ids": ["ATL", "BOS"], "horizon": 7, "levels": [80]}


def keep_until(spec: Path, last_day: str) -> None:
    """The dataset's CSV cut to the days up to ``last_day``: what had arrived by then."""
    source = Path(__file__).parents[2] / "datasets" / "demo" / "nyc_flights_daily.csv"
    with open(source, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if r["series_id"] in {"ATL", "BOS", "CLT", "DEN"} and r["ds"] <= last_day]
        fields = reader.fieldnames
    assert fields
    with open(spec.with_suffix(".csv"), "w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def spec(
    platform_env: Platform, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    from flows.train import train_flow

    folder = tmp_path_factory.mktemp("rolling")
    # Drift never retrains here (threshold 1): the served version must stay the same throughout.
    path = write_dataset(
        folder,
        NAME,
        threshold=1.0,
        series=("ATL", "BOS", "CLT", "DEN"),
        candidates="seasonal_naive, ets, combo_mean",
    )
    keep_until(path, "2013-12-10")
    outcome = train_flow(dataset=str(path))  # the spec trains up to 2013-12-03
    assert outcome.promoted, outcome
    yield path
    delete_model(platform_env.tracking_uri, NAME)  # the session's other tests list their own models


@pytest.fixture(scope="module")
def api(spec: Path, admin_credentials: tuple[str, str]) -> Iterator[TestClient]:
    from astralytiq.settings import get_settings
    from serving.app import create_app

    with TestClient(create_app(get_settings())) as client:
        yield client


@pytest.fixture(scope="module")
def headers(api: TestClient, admin_credentials: tuple[str, str]) -> dict[str, str]:
    username, password = admin_credentials
    token = api.post("/v1/auth/token", data={"username": username, "password": password}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def answer_when(api: TestClient, headers: dict[str, str], origin: str, timeout: float = 60) -> dict:  # type: ignore[type-arg]
    """The forecast once the API serves ``origin`` (the alias watcher polls every 0.5 s here)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.post(f"/v1/models/{NAME}/forecast", json=BODY, headers=headers)
        if response.status_code == 200 and response.headers["X-Forecast-Origin"] == origin:
            body = response.json()
            assert body["origin"] == origin and body["version"] == response.headers["X-Model-Version"]
            assert body["forecasts"][0]["points"][0]["ds"] == origin
            return {"headers": dict(response.headers), "body": body}
        assert time.monotonic() < deadline, (response.status_code, response.headers, response.text[:300])
        time.sleep(0.25)


def test_new_actuals_move_the_served_origin_without_a_retrain(
    spec: Path, api: TestClient, headers: dict[str, str]
) -> None:
    from astralytiq.db import session_scope
    from astralytiq.settings import get_settings
    from astralytiq.snapshots import list_snapshots
    from flows.forecast_flow import forecast_flow
    from flows.monitor import monitor_flow
    from registry.rest import RegistryClient

    trained = answer_when(api, headers, "2013-12-04")  # the version's own forecast from its cutoff
    version = trained["body"]["version"]
    assert trained["body"]["snapshot_id"] is None and "x-forecast-snapshot" not in trained["headers"]

    first = forecast_flow(dataset=str(spec))  # actuals up to 2013-12-10 are in the source
    assert (first.version, first.origin, first.series) == (version, "2013-12-11", 4)
    at_first = answer_when(api, headers, "2013-12-11")
    assert at_first["body"]["version"] == version and at_first["body"]["snapshot_id"] == first.snapshot_id
    assert at_first["headers"]["x-forecast-snapshot"] == str(first.snapshot_id)

    keep_until(spec, "2013-12-20")  # ten more days of actuals arrive
    monitored = monitor_flow(dataset=str(spec))
    assert monitored.retrain is None and monitored.forecast is not None
    second = monitored.forecast
    assert (second.version, second.origin) == (
        version,
        "2013-12-21",
    ) and second.snapshot_id > first.snapshot_id
    at_second = answer_when(api, headers, "2013-12-21")
    assert at_second["body"]["version"] == version
    assert at_second["body"]["forecasts"] != at_first["body"]["forecasts"]
    # The actuals after the first origin are in the new snapshot's history.
    history = api.post(f"/v1/models/{NAME}/forecast", json={**BODY, "include_history": True}, headers=headers)
    assert history.json()["forecasts"][0]["history"][-1]["ds"] == "2013-12-20"

    # Both snapshots are kept: a row each, the bundle in the training run's MLflow artifacts.
    settings = get_settings()
    with session_scope(settings.app_database_url) as session:
        rows = list_snapshots(session, NAME)
    assert [(r.id, r.origin, r.model_version) for r in rows] == [
        (second.snapshot_id, "2013-12-21", version),
        (first.snapshot_id, "2013-12-11", version),
    ]
    stored = RegistryClient(settings.mlflow_tracking_uri).download_artifact(
        rows[1].artifact_uri, rows[1].artifact_path
    )
    assert b'"2013-12-11"' in stored

    # A past answer, reproduced by its snapshot id: the same numbers, origin and headers as then.
    again = api.post(
        f"/v1/models/{NAME}/forecast", json={**BODY, "snapshot_id": first.snapshot_id}, headers=headers
    )
    assert again.status_code == 200, again.text
    assert again.json() == at_first["body"]
    assert again.headers["X-Forecast-Origin"] == "2013-12-11"
    assert again.headers["X-Forecast-Snapshot"] == str(first.snapshot_id)
    # ... while the newest stays served.
    assert answer_when(api, headers, "2013-12-21", timeout=1)["body"]["snapshot_id"] == second.snapshot_id

    # A snapshot whose file changed after publication is refused (checksum), named in /readyz,
    # and the one served stays: never a half-trusted or an older answer.
    from astralytiq.snapshots import record_snapshot

    with session_scope(settings.app_database_url) as session:
        bad = record_snapshot(
            session,
            NAME,
            version,
            "2013-12-31",
            "2013-12-30",
            4,
            rows[1].artifact_uri,
            rows[1].artifact_path,
            "0" * 64,
            0.1,
        )
    deadline = time.monotonic() + 30
    while f"{NAME}/{version}#{bad.id}" not in api.get("/readyz", headers=headers).json().get("failed", {}):
        assert time.monotonic() < deadline, api.get("/readyz", headers=headers).json()
        time.sleep(0.25)
    assert "checksum" in api.get("/readyz", headers=headers).json()["failed"][f"{NAME}/{version}#{bad.id}"]
    assert answer_when(api, headers, "2013-12-21", timeout=1)["body"]["snapshot_id"] == second.snapshot_id


def test_an_unknown_snapshot_id_is_a_404_that_says_where_ids_come_from(
    spec: Path, api: TestClient, headers: dict[str, str]
) -> None:
    response = api.post(f"/v1/models/{NAME}/forecast", json={**BODY, "snapshot_id": 999_999}, headers=headers)
    assert response.status_code == 404
    assert "no forecast snapshot 999999" in response.text and "X-Forecast-Snapshot" in response.text
