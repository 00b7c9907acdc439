"""The prediction API against the real MLflow server and a model trained by the real flow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Platform

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(
    platform_env: Platform, trained_demo: dict[str, Any], admin_credentials: tuple[str, str]
) -> Iterator[TestClient]:
    from astralytiq.settings import get_settings
    from serving.app import create_app

    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def headers(client: TestClient, admin_credentials: tuple[str, str]) -> dict[str, str]:
    username, password = admin_credentials
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_forecast_returns_points_and_intervals_per_series_and_date(
    client: TestClient, headers: dict[str, str], trained_demo: dict[str, Any]
) -> None:
    body = {"series_ids": ["ATL", "BOS"], "horizon": 28, "levels": [80, 95]}
    response = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == trained_demo["version"]
    data = response.json()
    assert [f["series_id"] for f in data["forecasts"]] == ["ATL", "BOS"]
    for item in data["forecasts"]:
        assert len(item["points"]) == 28
        assert item["points"][0]["ds"] == "2013-12-04"  # the day after the training window
        for point in item["points"]:
            by_level = {i["level"]: i for i in point["intervals"]}
            assert (
                by_level[95]["lower"]
                <= by_level[80]["lower"]
                <= point["yhat"]
                <= by_level[80]["upper"]
                <= by_level[95]["upper"]
            )
            assert by_level[95]["lower"] >= 0  # departures are never negative


def test_history_is_included_on_request(client: TestClient, headers: dict[str, str]) -> None:
    body = {"series_ids": ["ATL"], "horizon": 7, "include_history": True}
    history = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers).json()["forecasts"][
        0
    ]["history"]
    assert history[-1]["ds"] == "2013-12-03" and len(history) == 4 * 28


def test_models_list_and_detail(
    client: TestClient, headers: dict[str, str], trained_demo: dict[str, Any]
) -> None:
    models = client.get("/v1/models", headers=headers).json()
    assert models[0]["name"] == "nyc_flights" and models[0]["serving_version"] == trained_demo["version"]
    detail = client.get("/v1/models/nyc_flights", headers=headers).json()
    assert detail["versions"][0]["metrics"]["backtest_mase"] > 0
    assert len(detail["selection"]) == 24


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"series_ids": ["ATL"], "horizon": 0}, 422, "greater than or equal to 1"),
        ({"series_ids": ["ATL"], "horizon": 29}, 422, "exceeds this model's maximum of 28"),
        ({"series_ids": ["NOPE"], "horizon": 3}, 404, "unknown series for model 'nyc_flights': NOPE"),
        ({"series_ids": [], "horizon": 3}, 422, "at least 1 item"),
        ({"series_ids": ["ATL"], "horizon": "soon"}, 422, "valid integer"),
        ({"series_ids": ["ATL"], "horizon": 3, "levels": [120]}, 422, "strictly between 0 and 100"),
        ({"series_ids": ["ATL"], "horizon": 3, "extra": 1}, 422, "Extra inputs are not permitted"),
    ],
)
def test_bad_forecast_requests_get_a_4xx_that_says_why(
    client: TestClient, headers: dict[str, str], body: dict, status: int, fragment: str
) -> None:  # type: ignore[type-arg]
    response = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    assert response.status_code == status
    assert fragment in response.text


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (b'{"series_ids": ["ATL"], "horizon": 3, "levels": [NaN]}', 422, "strictly between 0 and 100"),
        (b'{"series_ids": ["ATL"], "horizon": 3, "levels": [Infinity]}', 422, "strictly between 0 and 100"),
        (b'{"series_ids": ["ATL"], "horizon": NaN}', 422, "finite"),
        (b'{"series_ids": ["ATL"], "horizon": 3', 422, "JSON decode error"),
        (b"\xff\xfe not json", 400, "error parsing the body"),
    ],
)
def test_non_finite_numbers_and_malformed_json_are_refused(
    client: TestClient, headers: dict[str, str], raw: bytes, status: int, fragment: str
) -> None:
    response = client.post(
        "/v1/models/nyc_flights/forecast",
        content=raw,
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert fragment in response.text


def test_unknown_model_is_404(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/v1/models/nope/forecast", json={"series_ids": ["ATL"], "horizon": 1}, headers=headers
    )
    assert response.status_code == 404 and "served models: nyc_flights" in response.json()["detail"]


def test_oversized_body_is_413(client: TestClient, headers: dict[str, str]) -> None:
    big = b'{"series_ids": ["' + b"A" * 2_000_000 + b'"], "horizon": 1}'
    response = client.post(
        "/v1/models/nyc_flights/forecast",
        content=big,
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 413


def test_authentication_is_required(client: TestClient) -> None:
    assert (
        client.post("/v1/models/nyc_flights/forecast", json={"series_ids": ["ATL"], "horizon": 1}).status_code
        == 401
    )
    assert client.get("/v1/models", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_unknown_user_and_wrong_password_look_the_same(client: TestClient) -> None:
    wrong = client.post("/v1/auth/token", data={"username": "admin", "password": "wrong-password"})
    unknown = client.post("/v1/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_viewer_can_forecast(client: TestClient) -> None:
    token = client.post(
        "/v1/auth/token", data={"username": "viewer", "password": "viewer-password-1"}
    ).json()["access_token"]
    response = client.post(
        "/v1/models/nyc_flights/forecast",
        json={"series_ids": ["ORD"], "horizon": 2},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200


def test_health_readiness_and_metrics(client: TestClient, headers: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["models"] == {
        "nyc_flights": ready.json()["models"]["nyc_flights"]
    }
    client.post(
        "/v1/models/nyc_flights/forecast", json={"series_ids": ["ATL"], "horizon": 1}, headers=headers
    )
    text = client.get("/metrics").text
    assert 'astralytiq_forecasts_served_total{model="nyc_flights"' in text
    assert (
        'astralytiq_http_requests_total{method="POST",route="/v1/models/{name}/forecast",status="200"}'
        in text
    )
    assert "astralytiq_model_serving_info" in text


def test_openapi_documents_the_forecast_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    example = spec["components"]["schemas"]["ForecastRequest"]["examples"][0]
    assert example["horizon"] == 14
