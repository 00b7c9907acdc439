"""Hot swapping, promotion and rollback against the real MLflow server.

A second model, ``swap_demo``, gets versions whose forecasts differ by a known factor, plus
two broken ones (bad JSON; NaN forecasts); the alias is moved in MLflow and through the API.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support.factories import champion_of, register, set_champion, variant

MODEL = "swap_demo"
ENGINEER = ("swap-engineer", "engineer-password-1")


@pytest.fixture(scope="module")
def versions(platform_env: Platform, trained_demo: TrainOutcome) -> dict[str, str]:
    """v1 (x1), v2 (x2), v3 (not JSON), v4 (NaN forecasts); v1 is champion."""
    from registry.tracking import load_champion_bundle

    _, demo = load_champion_bundle(platform_env.tracking_uri, "nyc_flights")
    uri = platform_env.tracking_uri
    made = {
        "x1": register(uri, MODEL, variant(demo, MODEL, 1.0).to_json()),
        "x2": register(uri, MODEL, variant(demo, MODEL, 2.0).to_json()),
        "not_json": register(uri, MODEL, b'{"format_version": 1, "model_name": '),
        "nan": register(uri, MODEL, variant(demo, MODEL, float("nan")).to_json()),
    }
    set_champion(uri, MODEL, made["x1"])
    return made


@pytest.fixture(scope="module")
def client(versions: dict[str, str], admin_credentials: tuple[str, str]) -> Iterator[TestClient]:
    from astralytiq.accounts import create_user
    from astralytiq.settings import get_settings
    from serving.app import create_app

    create_user(get_settings().app_database_url, *ENGINEER, "engineer")
    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


def bearer(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def engineer(client: TestClient) -> dict[str, str]:
    return bearer(client, *ENGINEER)


@pytest.fixture(scope="module")
def viewer(client: TestClient) -> dict[str, str]:
    return bearer(client, "viewer", "viewer-password-1")


BODY = {"series_ids": ["ATL"], "horizon": 3, "levels": [80]}


def forecast(client: TestClient, headers: dict[str, str]) -> tuple[str, float]:
    response = client.post(f"/v1/models/{MODEL}/forecast", json=BODY, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == response.json()["version"]
    return response.headers["X-Model-Version"], response.json()["forecasts"][0]["points"][0]["yhat"]


def wait_until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def test_every_champion_is_loaded_at_start(
    client: TestClient, viewer: dict[str, str], versions: dict[str, str]
) -> None:
    models = client.get("/readyz", headers=viewer).json()["models"]
    assert models[MODEL] == versions["x1"] and "nyc_flights" in models


def test_the_watcher_serves_a_moved_alias(
    client: TestClient, viewer: dict[str, str], versions: dict[str, str]
) -> None:
    _, before = forecast(client, viewer)
    set_champion(client.app.state.settings.mlflow_tracking_uri, MODEL, versions["x2"])  # type: ignore[attr-defined]
    wait_until(lambda: forecast(client, viewer)[0] == versions["x2"])
    _, after = forecast(client, viewer)
    assert after == pytest.approx(2 * before)


@pytest.mark.parametrize("broken", ["not_json", "nan"])
def test_a_version_that_fails_to_load_never_replaces_the_served_one(
    client: TestClient, viewer: dict[str, str], versions: dict[str, str], broken: str
) -> None:
    uri = client.app.state.settings.mlflow_tracking_uri  # type: ignore[attr-defined]
    set_champion(uri, MODEL, versions["x2"])
    wait_until(lambda: forecast(client, viewer)[0] == versions["x2"])
    set_champion(uri, MODEL, versions[broken])
    key = f"{MODEL}/{versions[broken]}"
    wait_until(lambda: key in client.get("/readyz", headers=viewer).json()["failed"])
    assert forecast(client, viewer)[0] == versions["x2"]
    summary = next(m for m in client.get("/v1/models", headers=viewer).json() if m["name"] == MODEL)
    assert summary["champion_version"] == versions[broken] and summary["serving_version"] == versions["x2"]
    assert "not servable" in summary["load_error"]
    assert (
        f'astralytiq_model_load_failures_total{{model="{MODEL}",reason="invalid"}}'
        in client.get("/metrics", headers=viewer).text
    )


def test_promotion_loads_then_moves_the_alias_and_is_audited(
    client: TestClient, engineer: dict[str, str], viewer: dict[str, str], versions: dict[str, str]
) -> None:
    uri = client.app.state.settings.mlflow_tracking_uri  # type: ignore[attr-defined]
    previous = champion_of(uri, MODEL)
    response = client.post(
        f"/v1/models/{MODEL}/promote",
        json={"version": versions["x1"], "reason": "back to basics"},
        headers=engineer,
    )
    assert response.status_code == 200, response.text
    change = response.json()
    assert change["previous_version"] == previous
    assert change["champion_version"] == change["serving_version"] == versions["x1"]
    assert forecast(client, viewer)[0] == versions["x1"]  # at once, not at the next poll
    assert champion_of(uri, MODEL) == versions["x1"]
    admin = bearer(client, "admin", "admin-password-1")
    event = client.get(
        "/v1/admin/audit", params={"action": "model.promote", "target": MODEL}, headers=admin
    ).json()[0]
    assert event["actor"] == ENGINEER[0] and event["actor_kind"] == "user"
    assert event["detail"] == {"from": previous, "to": versions["x1"], "reason": "back to basics"}


def test_promoting_a_broken_version_changes_nothing(
    client: TestClient, engineer: dict[str, str], viewer: dict[str, str], versions: dict[str, str]
) -> None:
    uri = client.app.state.settings.mlflow_tracking_uri  # type: ignore[attr-defined]
    before = champion_of(uri, MODEL)
    served = forecast(client, viewer)[0]
    response = client.post(
        f"/v1/models/{MODEL}/promote",
        json={"version": versions["not_json"], "reason": "try"},
        headers=engineer,
    )
    assert response.status_code == 422
    assert (
        "not servable" in response.json()["detail"] and "champion is unchanged" in response.json()["detail"]
    )
    assert champion_of(uri, MODEL) == before and forecast(client, viewer)[0] == served


def test_rollback_returns_to_the_champion_before(
    client: TestClient, engineer: dict[str, str], viewer: dict[str, str], versions: dict[str, str]
) -> None:
    uri = client.app.state.settings.mlflow_tracking_uri  # type: ignore[attr-defined]
    set_champion(uri, MODEL, versions["x1"])
    wait_until(lambda: forecast(client, viewer)[0] == versions["x1"])
    promoted = client.post(
        f"/v1/models/{MODEL}/promote",
        json={"version": versions["x2"], "reason": "doubling"},
        headers=engineer,
    )
    assert promoted.status_code == 200, promoted.text
    response = client.post(
        f"/v1/models/{MODEL}/rollback", json={"reason": "doubling was wrong"}, headers=engineer
    )
    assert response.status_code == 200, response.text
    assert response.json()["previous_version"] == versions["x2"]
    assert response.json()["serving_version"] == versions["x1"]
    assert champion_of(uri, MODEL) == versions["x1"] and forecast(client, viewer)[0] == versions["x1"]
    admin = bearer(client, "admin", "admin-password-1")
    event = client.get("/v1/admin/audit", params={"action": "model.rollback"}, headers=admin).json()[0]
    assert event["detail"]["reason"] == "doubling was wrong" and event["target"] == MODEL


def test_two_rollbacks_walk_two_steps_back_and_a_retry_moves_nothing(
    client: TestClient, engineer: dict[str, str], viewer: dict[str, str], versions: dict[str, str]
) -> None:
    from registry.tracking import load_champion_bundle

    uri = client.app.state.settings.mlflow_tracking_uri  # type: ignore[attr-defined]
    _, demo = load_champion_bundle(uri, "nyc_flights")
    x3 = register(uri, MODEL, variant(demo, MODEL, 3.0).to_json())
    set_champion(uri, MODEL, versions["x1"])
    wait_until(lambda: forecast(client, viewer)[0] == versions["x1"])
    for version in (versions["x2"], x3):
        moved = client.post(
            f"/v1/models/{MODEL}/promote", json={"version": version, "reason": "forward"}, headers=engineer
        )
        assert moved.status_code == 200, moved.text

    def rollback(key: str) -> dict[str, Any]:
        response = client.post(
            f"/v1/models/{MODEL}/rollback",
            json={"reason": "step back"},
            headers={**engineer, "Idempotency-Key": key},
        )
        assert response.status_code == 200, response.text
        return response.json()

    first = rollback("back-1")
    assert (first["previous_version"], first["champion_version"]) == (x3, versions["x2"])
    second = rollback("back-2")  # one step further back, not back to x3
    assert (second["previous_version"], second["champion_version"]) == (versions["x2"], versions["x1"])
    retried = rollback("back-2")  # the same request again (a lost answer, say): nothing moves
    assert retried["champion_version"] == versions["x1"] and retried["previous_version"] == versions["x2"]
    assert champion_of(uri, MODEL) == versions["x1"] and forecast(client, viewer)[0] == versions["x1"]
    admin = bearer(client, "admin", "admin-password-1")
    events = client.get("/v1/admin/audit", params={"action": "model.rollback"}, headers=admin).json()
    assert [e["detail"].get("idempotency_key") for e in events[:2]] == ["back-2", "back-1"]


def test_rollback_without_an_earlier_champion_asks_for_a_version(
    client: TestClient, engineer: dict[str, str]
) -> None:
    response = client.post("/v1/models/nyc_flights/rollback", json={"reason": "why not"}, headers=engineer)
    assert response.status_code == 409
    assert "name the version to roll back to" in response.json()["detail"]


@pytest.mark.parametrize(
    ("who", "path", "body", "status", "fragment"),
    [
        ("viewer", "promote", {"version": "1", "reason": "r"}, 403, "needs the engineer role"),
        ("engineer", "promote", {"version": "999", "reason": "r"}, 404, "not found in the registry"),
        ("engineer", "promote", {"version": "one", "reason": "r"}, 422, "should match pattern"),
        ("engineer", "promote", {"version": "1"}, 422, "Field required"),
        ("engineer", "promote", {"version": "1", "reason": ""}, 422, "at least 1 character"),
        ("engineer", "rollback", {"version": "0", "reason": "r"}, 422, "should match pattern"),
    ],
)
def test_bad_promotions_are_refused(
    client: TestClient,
    engineer: dict[str, str],
    viewer: dict[str, str],
    who: str,
    path: str,
    body: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    headers = engineer if who == "engineer" else viewer
    response = client.post(f"/v1/models/{MODEL}/{path}", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert fragment in response.text


def test_promoting_the_champion_again_or_an_unknown_model(
    client: TestClient, engineer: dict[str, str], versions: dict[str, str]
) -> None:
    uri = client.app.state.settings.mlflow_tracking_uri  # type: ignore[attr-defined]
    current = champion_of(uri, MODEL)
    again = client.post(
        f"/v1/models/{MODEL}/promote", json={"version": current, "reason": "r"}, headers=engineer
    )
    assert again.status_code == 409 and "already the champion" in again.json()["detail"]
    unknown = client.post("/v1/models/nope/promote", json={"version": "1", "reason": "r"}, headers=engineer)
    assert unknown.status_code == 404 and "no registered model named 'nope'" in unknown.json()["detail"]


def test_a_key_scoped_to_one_model_cannot_touch_another(client: TestClient, versions: dict[str, str]) -> None:
    admin = bearer(client, "admin", "admin-password-1")
    issued = client.post(
        "/v1/admin/api-keys",
        json={"name": "ci-pipeline", "role": "engineer", "models": ["nyc_flights"]},
        headers=admin,
    ).json()
    key = {"X-API-Key": issued["key"]}
    response = client.post(
        f"/v1/models/{MODEL}/promote", json={"version": versions["x1"], "reason": "r"}, headers=key
    )
    assert response.status_code == 403 and "not allowed to use model 'swap_demo'" in response.json()["detail"]
    forecast_response = client.post(f"/v1/models/{MODEL}/forecast", json=BODY, headers=key)
    assert forecast_response.status_code == 403
    assert [m["name"] for m in client.get("/v1/models", headers=key).json()] == ["nyc_flights"]


def test_the_serving_version_is_an_info_metric(client: TestClient, viewer: dict[str, str]) -> None:
    version, _ = forecast(client, viewer)
    lines = [
        line
        for line in client.get("/metrics", headers=viewer).text.splitlines()
        if line.startswith("astralytiq_model_serving_info")
    ]
    ours = [line for line in lines if f'model="{MODEL}"' in line]
    assert len(ours) == 1 and f'version="{version}"' in ours[0]
    assert json.loads(client.get("/readyz", headers=viewer).text)["models"][MODEL] == version
