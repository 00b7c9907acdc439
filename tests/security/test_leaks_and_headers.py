"""What the API gives away: /metrics and what /readyz serves need a token, error texts name no
internal address, every answer carries the security headers, secrets are never cached, and a
405 lists every method the path has."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from astralytiq.settings import Settings, get_settings
from tests.security.conftest import bearer


def _metrics_token() -> dict[str, str]:
    return {"Authorization": f"Bearer {get_settings().metrics_bearer()}"}


def test_metrics_need_the_metrics_token_or_a_person(api: TestClient, admin: dict[str, str]) -> None:
    anonymous = api.get("/metrics")
    assert anonymous.status_code == 401, anonymous.text
    assert "astralytiq_" not in anonymous.text and anonymous.headers["www-authenticate"] == "Bearer"
    assert api.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    # A key scoped to one model would see every model's names, runs and series there.
    key = api.post("/v1/admin/api-keys", json={"name": "scraper", "models": ["alpha"]}, headers=admin).json()[
        "key"
    ]
    refused = api.get("/metrics", headers={"X-API-Key": key})
    assert refused.status_code == 403 and "API keys cannot read" in refused.text
    for headers in (_metrics_token(), bearer(api, "viewer", "viewer-password-1")):
        answer = api.get("/metrics", headers=headers)
        assert answer.status_code == 200 and "astralytiq_http_requests_total" in answer.text


def test_readiness_says_what_is_served_only_to_the_operator(api: TestClient) -> None:
    anonymous = api.get("/readyz").json()
    assert set(anonymous) == {"status", "database", "registry"}, anonymous
    detailed = api.get("/readyz", headers=_metrics_token()).json()
    assert {"models", "failed"} <= set(detailed)


def test_the_metrics_port_serves_a_scraper_without_credentials() -> None:
    """Production's default: /metrics on its own port (9464), which only the cluster reaches."""
    import httpx

    from serving.app import create_app
    from tests.support import free_port

    assert Settings(environment="production", secret_key="x" * 40).metrics_listen_port == 9464
    assert Settings(environment="development").metrics_listen_port == 0
    port = free_port()
    settings = get_settings().model_copy(update={"metrics_port": port})
    with TestClient(create_app(settings)):
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert scraped.status_code == 200 and "astralytiq_http_requests_total" in scraped.text


def test_api_docs_are_off_in_production_unless_asked_for() -> None:
    from serving.app import create_app

    production = Settings(environment="production", secret_key="x" * 40)
    app = create_app(production)
    assert app.docs_url is None and app.openapi_url is None and app.redoc_url is None
    assert create_app(production.model_copy(update={"api_docs": True})).docs_url == "/docs"
    assert create_app(Settings(environment="development")).docs_url == "/docs"


def test_a_registry_fault_is_said_without_its_internal_address(
    api: TestClient, admin: dict[str, str]
) -> None:
    from tests.support import free_port

    store = api.app.state.store  # type: ignore[attr-defined]
    registry = store.registry
    real_base = registry.base
    port = free_port()
    registry.base = f"http://127.0.0.1:{port}"  # nothing listens there
    try:
        answer = api.post("/v1/models/alpha/promote", json={"version": "1", "reason": "probe"}, headers=admin)
    finally:
        registry.base = real_base
    assert answer.status_code == 503, answer.text
    assert "unreachable" in answer.text
    assert str(port) not in answer.text and "http" not in answer.text


@pytest.mark.parametrize("digits", [4301, 5001])
def test_a_huge_integer_is_a_plain_400_or_422(api: TestClient, admin: dict[str, str], digits: int) -> None:
    body = '{"series_ids": ["ATL"], "horizon": ' + "9" * digits + "}"
    answer = api.post(
        "/v1/models/alpha/forecast", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    assert answer.status_code in (400, 422), answer.text
    assert "set_int_max_str_digits" not in answer.text and "digits" in answer.text


JSON_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/healthz", None, 200),
        ("get", "/v1/models", None, 200),
        ("get", "/v1/no-such-route", None, 404),
        ("post", "/v1/models/alpha/forecast", {"series_ids": []}, 422),
        ("get", "/v1/admin/users", None, 200),
    ],
)
def test_every_answer_carries_the_security_headers(
    api: TestClient, admin: dict[str, str], method: str, path: str, body: Any, status: int
) -> None:
    answer = api.request(method, path, json=body, headers=admin)
    assert answer.status_code == status, answer.text
    for name, value in JSON_HEADERS.items():
        assert answer.headers[name] == value, (path, name)
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_the_api_docs_page_may_load_its_bundle_and_nothing_else(api: TestClient) -> None:
    policy = api.get("/docs").headers["content-security-policy"]
    assert (
        "script-src 'unsafe-inline' https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy
    )


def test_answers_that_carry_a_secret_are_never_cached(api: TestClient, admin: dict[str, str]) -> None:
    token = api.post("/v1/auth/token", data={"username": "viewer", "password": "viewer-password-1"})
    key = api.post("/v1/admin/api-keys", json={"name": "no-cache"}, headers=admin)
    for answer in (token, key):
        assert answer.status_code in (200, 201), answer.text
        assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/admin/api-keys", {"GET", "POST"}),
        ("/v1/admin/users", {"GET", "POST"}),
        ("/v1/admin/users/someone", {"PATCH"}),
        ("/v1/models/alpha/forecast", {"POST"}),
    ],
)
def test_a_405_allows_every_method_of_the_path(
    api: TestClient, admin: dict[str, str], path: str, methods: set[str]
) -> None:
    for method in ("OPTIONS", "PUT"):
        answer = api.request(method, path, headers=admin)
        assert answer.status_code == 405, (method, path)
        allowed = {m.strip() for m in answer.headers["allow"].split(",")} - {"HEAD"}
        assert allowed == methods, (method, path, answer.headers["allow"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/v1/admin/audit?before_id={2**63}"),
        ("get", f"/v1/admin/audit?before_id={10**30}"),
        ("get", f"/v1/models/alpha/drift/{2**63}/html"),
        ("delete", f"/v1/admin/api-keys/{2**64}"),
    ],
)
def test_ids_past_64_bits_are_a_422_not_an_overflow(
    api: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    answer = api.request(method, path, headers=admin)
    assert answer.status_code == 422, answer.text
    assert "less than or equal to 9223372036854775807" in answer.text
