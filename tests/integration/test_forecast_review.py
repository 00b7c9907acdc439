"""How served forecasts did, through the API: the demo's forecast as trained (origin 2013-12-04)
against December's actuals that the monitor flow's snapshot brought in, the snapshots listed,
and each series' backtest windows as the training run kept them. The session's trained demo and
its monitor run (tests/conftest.py ``api_server``) are reused: nothing is trained here."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.outcomes import TrainOutcome
from tests.conftest import Platform

DEMO = Path(__file__).parents[2] / "datasets" / "demo" / "nyc_flights_daily.csv"


@pytest.fixture(scope="module")
def served(api_server: str, client: TestClient, admin: dict[str, str]) -> dict[str, object]:
    """The in-process API once it serves the monitor run's snapshot (the watcher polls)."""
    deadline = time.monotonic() + 60
    while True:
        listed = client.get("/v1/models/nyc_flights/snapshots", headers=admin)
        assert listed.status_code == 200, listed.text
        current = [s for s in listed.json() if s["served"]]
        if current:
            return current[0]  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, listed.json()
        time.sleep(0.25)


def december(series_id: str) -> dict[str, float]:
    with open(DEMO, newline="") as handle:
        return {
            row["ds"]: float(row["y"])
            for row in csv.DictReader(handle)
            if row["series_id"] == series_id and row["ds"] >= "2013-12-04"
        }


def test_the_forecast_as_trained_meets_the_actuals_that_arrived_since(
    client: TestClient, admin: dict[str, str], served: dict[str, object], trained_demo: TrainOutcome
) -> None:
    response = client.get(
        "/v1/models/nyc_flights/forecast-vs-actual", params={"series_id": "ATL", "level": 80}, headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["version"], body["snapshot_id"], body["origin"]) == (
        trained_demo.version,
        None,
        "2013-12-04",
    )
    assert body["actuals_end"] == "2013-12-31" and len(body["points"]) == 28
    actual = december("ATL")
    assert [p["y"] for p in body["points"]] == [actual[p["ds"]] for p in body["points"]]
    assert body["arrived"] == 28 and all(p["lower"] <= p["yhat"] <= p["upper"] for p in body["points"])
    errors = [abs(p["y"] - p["yhat"]) for p in body["points"]]
    assert body["mae"] == pytest.approx(sum(errors) / 28)
    assert body["wape"] == pytest.approx(100 * sum(errors) / sum(actual.values()))
    inside = sum(p["lower"] <= p["y"] <= p["upper"] for p in body["points"]) / 28
    assert body["inside"] == pytest.approx(inside) and 0 < inside <= 1
    # The same forecast the API served before the snapshot: its own bundle's numbers.
    wider = client.get(
        "/v1/models/nyc_flights/forecast-vs-actual", params={"series_id": "ATL", "level": 95}, headers=admin
    ).json()
    assert [p["yhat"] for p in wider["points"]] == [p["yhat"] for p in body["points"]]
    assert all(w["lower"] <= n["lower"] for w, n in zip(wider["points"], body["points"], strict=True))


def test_the_served_snapshot_has_no_actuals_after_its_origin_yet(
    client: TestClient, admin: dict[str, str], served: dict[str, object]
) -> None:
    assert served["origin"] == "2014-01-01" and served["actuals_end"] == "2013-12-31"
    response = client.get(
        "/v1/models/nyc_flights/forecast-vs-actual",
        params={"series_id": "BOS", "snapshot_id": served["id"]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["snapshot_id"], body["origin"], body["arrived"]) == (served["id"], "2014-01-01", 0)
    assert body["mae"] is None and body["wape"] is None and body["inside"] is None
    assert all(p["y"] is None for p in body["points"])


def test_each_series_backtest_windows_as_the_training_run_kept_them(
    client: TestClient, admin: dict[str, str], trained_demo: TrainOutcome, platform_env: Platform
) -> None:
    import mlflow

    response = client.get("/v1/models/nyc_flights/backtest", params={"series_id": "ATL"}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == trained_demo.version and body["windows"]
    windows = body["windows"]
    assert [w["window"] for w in windows] == sorted(w["window"] for w in windows)
    assert all(len(w["points"]) == 28 and w["points"][0]["ds"] > w["cutoff"] for w in windows)
    assert windows[-1]["points"][-1]["ds"] == "2013-12-03"  # the newest window ends at the cutoff
    with open(DEMO, newline="") as handle:
        actual = {
            r["ds"]: float(r["y"]) for r in csv.DictReader(handle) if r["series_id"] == body["series_id"]
        }
    assert all(p["y"] == actual[p["ds"]] for w in windows for p in w["points"])
    # Each window's error is the run's own score of that series, model and window.
    path = mlflow.artifacts.download_artifacts(
        run_id=trained_demo.run_id,
        artifact_path="backtest/backtest_scores.csv",
        tracking_uri=platform_env.tracking_uri,
    )
    with open(path, newline="") as handle:
        scores = {
            (r["model"], int(r["window"])): float(r["mase"])
            for r in csv.DictReader(handle)
            if r["series_id"] == body["series_id"]
        }
    assert all(w["mase"] == pytest.approx(scores[(w["model"], w["window"])]) for w in windows)
    # Another version by number; an unknown one is a 404 that says so.
    again = client.get(
        "/v1/models/nyc_flights/backtest",
        params={"series_id": body["series_id"], "version": trained_demo.version},
        headers=admin,
    )
    assert again.json() == body
    missing = client.get(
        "/v1/models/nyc_flights/backtest", params={"series_id": "ATL", "version": "999999"}, headers=admin
    )
    assert missing.status_code == 404 and "no version 999999" in missing.text


HOSTILE = "<script>alert(1)</script>\r\nX-Injected: 1"


@pytest.mark.parametrize("route", ["backtest", "forecast-vs-actual"])
def test_bad_series_ids_and_parameters_get_a_4xx_that_says_why(
    client: TestClient, admin: dict[str, str], served: dict[str, object], route: str
) -> None:
    url = f"/v1/models/nyc_flights/{route}"
    unknown = client.get(url, params={"series_id": HOSTILE}, headers=admin)
    assert unknown.status_code == 404
    assert "has no series" in unknown.json()["detail"] and "\r\n" not in unknown.json()["detail"]
    assert "x-injected" not in unknown.headers
    assert client.get(url, params={"series_id": "x" * 201}, headers=admin).status_code == 422
    assert client.get(url, headers=admin).status_code == 422  # series_id is required
    assert (
        client.get(
            "/v1/models/no_such_model/" + route, params={"series_id": "ATL"}, headers=admin
        ).status_code
        == 404
    )


def test_forecast_vs_actual_refuses_bad_levels_and_unknown_snapshots(
    client: TestClient, admin: dict[str, str], served: dict[str, object]
) -> None:
    url = "/v1/models/nyc_flights/forecast-vs-actual"
    for level in ("0", "100", "nan", "inf", "eighty"):
        assert client.get(url, params={"series_id": "ATL", "level": level}, headers=admin).status_code == 422
    for snapshot_id in ("0", "-1", str(2**63)):
        response = client.get(url, params={"series_id": "ATL", "snapshot_id": snapshot_id}, headers=admin)
        assert response.status_code == 422, (snapshot_id, response.text)
    gone = client.get(url, params={"series_id": "ATL", "snapshot_id": 999_999}, headers=admin)
    assert gone.status_code == 404 and "/snapshots lists them" in gone.json()["detail"]
    assert (
        client.get("/v1/models/nyc_flights/snapshots", params={"limit": 0}, headers=admin).status_code == 422
    )


def test_viewers_read_them_and_a_key_scoped_to_another_model_does_not(
    client: TestClient, admin: dict[str, str], served: dict[str, object]
) -> None:
    token = client.post("/v1/auth/token", data={"username": "viewer", "password": "viewer-password-1"}).json()
    viewer = {"Authorization": f"Bearer {token['access_token']}"}
    issued = client.post(
        "/v1/admin/api-keys", json={"name": "other-model", "models": ["portal_demo"]}, headers=admin
    )
    assert issued.status_code == 201, issued.text
    scoped = {"X-API-Key": issued.json()["key"]}
    for path, params in (
        ("snapshots", {}),
        ("backtest", {"series_id": "ATL"}),
        ("forecast-vs-actual", {"series_id": "ATL"}),
    ):
        url = f"/v1/models/nyc_flights/{path}"
        assert client.get(url, params=params, headers=viewer).status_code == 200, path
        refused = client.get(url, params=params, headers=scoped)
        assert refused.status_code == 403 and "not allowed to use model 'nyc_flights'" in refused.text
        assert client.get(url, params=params).status_code == 401
