"""Role checks read their credentials themselves (one dependency on the hot routes), yet the
OpenAPI document still says which credentials every guarded operation takes, as FastAPI would."""

from __future__ import annotations

from pathlib import Path

from astralytiq.settings import Settings
from serving.app import create_app

BOTH: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]


def test_every_guarded_operation_documents_both_credentials(tmp_path: Path) -> None:
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    paths = schema["paths"]
    for path, method in (
        ("/v1/models/{name}/forecast", "post"),
        ("/v1/forecasts", "post"),
        ("/v1/models", "get"),
        ("/v1/models/{name}/promote", "post"),
        ("/v1/admin/api-keys", "post"),
        ("/v1/auth/me", "get"),  # CurrentPrincipal: FastAPI's own documentation of the schemes
    ):
        assert paths[path][method]["security"] == BOTH, (path, method)
    assert "security" not in paths["/healthz"]["get"]
    assert "security" not in paths["/v1/auth/token"]["post"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["OAuth2PasswordBearer"] == {
        "type": "oauth2",
        "flows": {"password": {"scopes": {}, "tokenUrl": "/v1/auth/token"}},
    }


def test_the_role_check_is_one_dependency_on_the_forecast_route(tmp_path: Path) -> None:
    from fastapi.routing import APIRoute, iter_route_contexts

    app = create_app(Settings(data_dir=tmp_path))
    route = next(
        c.original_route
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and c.path_format == "/v1/models/{name}/forecast"
    )
    # The body, the path and the request are parameters, not dependencies: one left to solve.
    assert [d.call.__name__ for d in route.dependant.dependencies] == ["check"]  # type: ignore[union-attr]
    assert route.dependant.dependencies[0].dependencies == []
