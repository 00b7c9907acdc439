"""The prediction API against the real MLflow server and a model trained by the real flow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from flows.outcomes import TrainOutcome


@pytest.fixture(scope="module")
def headers(admin: dict[str, str]) -> dict[str, str]:
    return admin


def test_forecast_returns_points_and_intervals_per_series_and_date(
    client: TestClient, headers: dict[str, str], trained_demo: TrainOutcome
) -> None:
    body = {"series_ids": ["ATL", "BOS"], "horizon": 28, "levels": [80, 95]}
    response = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == trained_demo.version
    data = response.json()
    assert [f["series_id"] for f in data["forecasts"]] == ["ATL", "BOS"]
    for item in data["forecasts"]:
        assert len(item["points"]) == 28
        # The day after the training window, or, once the monitor flow has published a snapshot
        # from newer actuals (other modules of the session run it), the day after those.
        assert item["points"][0]["ds"] == response.headers["X-Forecast-Origin"]
        if "X-Forecast-Snapshot" in response.headers:
            assert item["points"][0]["ds"] > "2013-12-04"
        else:
            assert item["points"][0]["ds"] == "2013-12-04"
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
    response = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    history = response.json()["forecasts"][0]["history"]
    # History ends the day before the origin: the training cutoff, or a snapshot's newest actual.
    origin = date.fromisoformat(response.headers["X-Forecast-Origin"])
    assert history[-1]["ds"] == (origin - timedelta(days=1)).isoformat() and len(history) == 4 * 28
    if "X-Forecast-Snapshot" not in response.headers:
        assert history[-1]["ds"] == "2013-12-03"


def test_models_list_and_detail(
    client: TestClient, headers: dict[str, str], trained_demo: TrainOutcome
) -> None:
    models = client.get("/v1/models", headers=headers).json()
    assert models[0]["name"] == "nyc_flights" and models[0]["serving_version"] == trained_demo.version
    detail = client.get("/v1/models/nyc_flights", headers=headers).json()
    assert detail["versions"][0]["metrics"]["backtest_mase"] > 0
    assert len(detail["selection"]) == 24
    # Each version carries its own aliases, and the champion is named (MLflow's version search
    # alone leaves both out).
    champion = detail["champion_version"]
    assert champion is not None
    assert [v["version"] for v in detail["versions"] if "champion" in v["aliases"]] == [champion]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"series_ids": ["ATL"], "horizon": 0}, 422, "greater than or equal to 1"),
        ({"series_ids": ["ATL"], "horizon": 29}, 422, "exceeds the maximum of model 'nyc_flights'"),
        ({"series_ids": ["ATL"], "horizon": 10**20}, 422, "ask for 1-28"),
        ({"series_ids": ["ATL"], "horizon": -1}, 422, "greater than or equal to 1"),
        ({"series_ids": ["NOPE"], "horizon": 3}, 404, "unknown series for model 'nyc_flights': 'NOPE'"),
        ({"series_ids": ["ATL", "X1", "X2"], "horizon": 3}, 404, "2 unknown series"),
        (
            {"series_ids": ["ATL"] * 0 + [f"S{i}" for i in range(1001)], "horizon": 3},
            422,
            "at most 1000 items",
        ),
        ({"series_ids": "ATL", "horizon": 3}, 422, "valid list"),
        ({"series_ids": [1, 2], "horizon": 3}, 422, "valid string"),
        ({"series_ids": [""], "horizon": 3}, 422, "1-200 characters"),
        ({"series_ids": ["ATL"], "horizon": 3.5}, 422, "valid integer"),
        ({"series_ids": ["ATL"], "horizon": 3, "levels": "80"}, 422, "valid list"),
        ({"series_ids": ["ATL"], "horizon": 3, "levels": [0]}, 422, "above 0 and at most 99.99"),
        ({"series_ids": ["ATL"], "horizon": 3, "levels": [100]}, 422, "above 0 and at most 99.99"),
        ({"horizon": 3}, 422, "name the series in series_ids or set all_series to true"),
        ({"series_ids": [], "horizon": 3}, 422, "at least 1 item"),
        ({"series_ids": ["ATL"], "horizon": "soon"}, 422, "valid integer"),
        ({"series_ids": ["ATL"], "horizon": 3, "levels": [120]}, 422, "above 0 and at most 99.99"),
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
        (b'{"series_ids": ["ATL"], "horizon": 3, "levels": [NaN]}', 422, "above 0 and at most 99.99"),
        (b'{"series_ids": ["ATL"], "horizon": 3, "levels": [Infinity]}', 422, "above 0 and at most 99.99"),
        (
            b'{"series_ids": ["ATL"], "horizon": 3, "levels": [80, -Infinity]}',
            422,
            "above 0 and at most 99.99",
        ),
        (b'{"series_ids": ["ATL"], "horizon": NaN}', 422, "finite"),
        (b'{"series_ids": ["ATL"], "horizon": Infinity}', 422, "finite"),
        (b'{"series_ids": [NaN], "horizon": 3}', 422, "valid string"),
        (b'{"series_ids": ["ATL"], "horizon": 3, "include_history": NaN}', 422, "valid boolean"),
        (b'{"series_ids": ["ATL"], "horizon": 3', 422, "JSON decode error"),
        (b"", 422, "Field required"),
        (b"[]", 422, "valid dictionary"),
        (b"\xff\xfe not json", 400, "could not be read as JSON"),
        (b"[" * 100_000, 400, "could not be read as JSON (too deeply nested)"),
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
    ready = client.get("/readyz", headers=headers)
    assert ready.status_code == 200 and ready.json()["models"] == {
        "nyc_flights": ready.json()["models"]["nyc_flights"]
    }
    client.post(
        "/v1/models/nyc_flights/forecast", json={"series_ids": ["ATL"], "horizon": 1}, headers=headers
    )
    text = client.get("/metrics", headers=headers).text
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


def test_openapi_has_examples_and_both_security_schemes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("BatchForecastRequest", "PromotionRequest", "RollbackRequest", "ApiKeyCreate", "UserCreate"):
        assert schemas[name]["examples"], f"{name} has no OpenAPI example"
    assert {"OAuth2PasswordBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    forecast = spec["paths"]["/v1/models/{name}/forecast"]["post"]
    assert {"X-Model-Version", "X-Forecast-Origin"} <= set(forecast["responses"]["200"]["headers"])
    shapes = forecast["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    assert shapes[0]["$ref"].endswith("/ForecastResponse")
    assert shapes[1] == {"type": "array", "items": {"$ref": "#/components/schemas/LongForecastRow"}}
    assert "text/csv" in forecast["responses"]["200"]["content"]
    assert all(path.startswith(("/v1/", "/healthz", "/readyz")) for path in spec["paths"])


def test_batch_answers_each_request_in_order_with_the_same_numbers(
    client: TestClient, headers: dict[str, str], trained_demo: TrainOutcome
) -> None:
    first = {"series_ids": ["ATL", "BOS"], "horizon": 7, "levels": [80]}
    second = {"series_ids": ["ORD"], "horizon": 28, "levels": [50, 99]}
    response = client.post(
        "/v1/forecasts",
        json={"requests": [{"model": "nyc_flights", **first}, {"model": "nyc_flights", **second}]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == f"nyc_flights={trained_demo.version}"
    results = response.json()["results"]
    assert [r["horizon"] for r in results] == [7, 28]
    assert [[f["series_id"] for f in r["forecasts"]] for r in results] == [["ATL", "BOS"], ["ORD"]]
    for body, result in zip((first, second), results, strict=True):
        single = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers).json()
        assert single == result


@pytest.mark.parametrize(
    ("batch", "status", "fragment"),
    [
        ({"requests": []}, 422, "at least 1 item"),
        (
            {
                "requests": [
                    {"model": "nyc_flights", "series_ids": ["ATL"], "horizon": 1},
                    {"model": "nope", "series_ids": ["ATL"], "horizon": 1},
                ]
            },
            404,
            "requests[1]: model 'nope' is not served",
        ),
        (
            {"requests": [{"model": "nyc_flights", "series_ids": ["ATL"], "horizon": 99}]},
            422,
            "requests[0]: horizon 99 exceeds the maximum",
        ),
        (
            {
                "requests": [
                    {"model": "nyc_flights", "series_ids": [f"S{i}"], "horizon": 1} for i in range(51)
                ]
            },
            422,
            "at most 50 items",
        ),
        (
            {
                "requests": [
                    {"model": "nyc_flights", "series_ids": [f"S{i}-{j}" for i in range(600)], "horizon": 1}
                    for j in range(2)
                ]
            },
            422,
            "the batch asks for 1200 series; the limit is 1000",
        ),
    ],
)
def test_bad_batches_name_the_request_at_fault(
    client: TestClient, headers: dict[str, str], batch: dict[str, Any], status: int, fragment: str
) -> None:
    response = client.post("/v1/forecasts", json=batch, headers=headers)
    assert response.status_code == status, response.text
    assert fragment in response.text


def test_a_body_that_is_not_json_says_how_to_send_it(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/v1/models/nyc_flights/forecast", data={"series_ids": "ATL", "horizon": "1"}, headers=headers
    )
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.text


def test_oversized_body_without_length_is_413(client: TestClient, headers: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"series_ids": ["'
        for _ in range(40):
            yield b"A" * 65_536
        yield b'"], "horizon": 1}'

    response = client.post(
        "/v1/models/nyc_flights/forecast",
        content=chunks(),  # no Content-Length: the cap must count what arrives
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert "ASTRALYTIQ_MAX_REQUEST_BYTES" in response.json()["detail"]


def test_repeated_forecasts_are_identical_and_counted(client: TestClient, headers: dict[str, str]) -> None:
    body = {"series_ids": ["DEN", "MCO"], "horizon": 5, "levels": [90]}
    first = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    second = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    assert first.content == second.content  # the second comes from the version's cache
    text = client.get("/metrics", headers=headers).text
    assert 'astralytiq_forecast_cache_total{model="nyc_flights",result="hit"}' in text
    assert 'astralytiq_model_load_seconds_count{model="nyc_flights"}' in text
    assert (
        'astralytiq_http_request_duration_seconds_count{method="POST",route="/v1/models/{name}/forecast",status="200"}'
        in text
    )


def test_readiness_lists_models_and_failures(
    client: TestClient, headers: dict[str, str], trained_demo: TrainOutcome
) -> None:
    ready = client.get("/readyz", headers=headers).json()
    assert ready["models"]["nyc_flights"] == trained_demo.version
    assert "failed" in ready


def test_an_answer_over_the_value_cap_is_a_422_naming_the_limit(
    client: TestClient, headers: dict[str, str]
) -> None:
    """The demo has 24 series and a 28-step maximum; 112 history points each. With a cap of
    10,000 numbers (the default is 200,000), ask for more, alone and in a batch."""
    settings = client.app.state.settings  # type: ignore[attr-defined]
    before, settings.max_forecast_values = settings.max_forecast_values, 10_000
    try:
        series = client.get("/v1/models/nyc_flights/series", headers=headers).json()
        many = {"series_ids": series, "horizon": 28, "levels": [50, 80, 90, 95, 99]}  # 24*28*11 = 7,392
        assert client.post("/v1/models/nyc_flights/forecast", json=many, headers=headers).status_code == 200
        with_history = {**many, "include_history": True}  # + 24*112 = 10,080
        refused = client.post("/v1/models/nyc_flights/forecast", json=with_history, headers=headers)
        assert refused.status_code == 422, refused.text
        assert "10,080 numbers" in refused.text and "the limit is 10,000 per call" in refused.text
        assert "ASTRALYTIQ_MAX_FORECAST_VALUES" in refused.text
        assert refused.headers["X-Model-Version"]
        batch = {"requests": [{"model": "nyc_flights", **many}, {"model": "nyc_flights", **many}]}
        refused = client.post("/v1/forecasts", json=batch, headers=headers)  # 2 x 7,392
        assert (
            refused.status_code == 422 and "the batch: this answer would hold 14,784 numbers" in refused.text
        )
    finally:
        settings.max_forecast_values = before


def test_the_openapi_document_states_the_configured_limits(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    forecast = spec["paths"]["/v1/models/{name}/forecast"]["post"]["responses"]
    assert "(here 200,000 numbers per call)" in forecast["422"]["description"]
    assert "1,000,000 bytes" in forecast["413"]["description"]
    levels = spec["components"]["schemas"]["ForecastRequest"]["properties"]["levels"]
    assert (
        levels["items"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 99.99}
        and levels["maxItems"] == 10
    )
    password = spec["components"]["schemas"]["UserCreate"]["properties"]["password"]
    assert password["maxLength"] == 72 and password["minLength"] == 8 and "\\x00" in password["pattern"]
    key = spec["components"]["schemas"]["ApiKeyCreate"]["properties"]["expires_in_days"]
    bounds = next(option for option in key["anyOf"] if option.get("type") == "integer")
    assert bounds["minimum"] == 1 and bounds["maximum"] == 3650
    # Only JSON Schema keywords: pydantic's own names for bounds are read by no client.
    assert not re.search(r'"(ge|le|gt|lt)":', json.dumps(spec))
    for path in ("/v1/admin/audit",):
        before_id = next(p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "before_id")
        assert before_id["schema"]["anyOf"][0]["maximum"] == 2**63 - 1


@pytest.mark.parametrize("level", [99.99999999999999, 99.995, 100, 0, -5])
def test_levels_past_the_documented_bounds_are_a_422(
    client: TestClient, headers: dict[str, str], level: float
) -> None:
    body = {"series_ids": ["ATL"], "horizon": 3, "levels": [level]}
    refused = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    assert refused.status_code == 422 and "at most 99.99" in refused.text, refused.text


def test_the_highest_documented_level_is_answered(client: TestClient, headers: dict[str, str]) -> None:
    body = {"series_ids": ["ATL"], "horizon": 3, "levels": [99.99, 1e-9]}
    answer = client.post("/v1/models/nyc_flights/forecast", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert [i["level"] for i in answer.json()["forecasts"][0]["points"][0]["intervals"]] == [1e-9, 99.99]


def test_the_json_schemas_of_spec_and_contract_are_published(api: TestClient, admin: dict[str, str]) -> None:
    from data_contracts.json_schema import schema

    client, headers = api, admin  # no trained model needed

    for name in ("dataset-spec", "data-contract"):
        response = client.get(f"/v1/schemas/{name}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/schema+json")
        assert response.json() == schema(name)
    spec = client.get("/v1/schemas/dataset-spec", headers=headers).json()
    assert {"training", "monitoring", "source", "horizon"} <= set(spec["properties"])
    assert "spec_path" not in spec["properties"]  # where a file was read from is not a field
    assert client.get("/v1/schemas/other", headers=headers).status_code == 422
    assert client.get("/v1/schemas/dataset-spec").status_code == 401
