"""The OpenAPI document says the limits this process enforces, with their configured values, and
links each created or listed resource to the operations that take it (for clients and for
schemathesis' stateful tests)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, iter_route_contexts

from astralytiq.settings import Settings


def document_limits(app: FastAPI, settings: Settings) -> None:
    """Replace app.openapi with one that writes the configured limits into the responses that
    enforce them (the routes are declared before the settings are known)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.get("responses", {})
                if "413" in responses:
                    responses["413"]["description"] = (
                        f"Body over {settings.max_request_bytes:,} bytes (ASTRALYTIQ_MAX_REQUEST_BYTES)"
                    )
                if "ASTRALYTIQ_MAX_FORECAST_VALUES" in responses.get("422", {}).get("description", ""):
                    responses["422"]["description"] += (
                        f" (here {settings.max_forecast_values:,} numbers per call)"
                    )
        document_credentials(app, schema)
        for (path, method, status), links in LINKS.items():
            operation = schema["paths"].get(path, {}).get(method)
            if operation is not None and status in operation["responses"]:
                operation["responses"][status]["links"] = links
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _credential_schemes(dependant: Dependant) -> tuple[Any, ...]:
    for sub in dependant.dependencies:
        schemes = getattr(sub.call, "credential_schemes", None) or _credential_schemes(sub)
        if schemes:
            return tuple(schemes)
    return ()


def document_credentials(app: FastAPI, schema: dict[str, Any]) -> None:
    """The security requirements of routes guarded by ``serving.deps.require_role``, which reads
    its credentials without FastAPI's help: the same entries FastAPI writes for a sub-dependency
    on each scheme (the scheme in components, a requirement on the operation)."""
    for context in iter_route_contexts(app.routes):  # the routes of included routers too
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        schemes = _credential_schemes(route.dependant)
        if not schemes:
            continue
        components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for method in context.methods or ():
            operation = schema["paths"].get(context.path_format, {}).get(method.lower())
            if operation is None:
                continue
            required: list[dict[str, list[str]]] = [{scheme.scheme_name: []} for scheme in schemes]
            operation["security"] = required + [r for r in operation.get("security", []) if r not in required]
            for scheme in schemes:
                components[scheme.scheme_name] = jsonable_encoder(
                    scheme.model, by_alias=True, exclude_none=True
                )


def _link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": parameters, "description": description}


_MODEL = "$response.body#/0/name"
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/v1/admin/api-keys", "post", "201"): {
        "RevokeKey": _link(
            "revoke_api_key_v1_admin_api_keys__key_id__delete", "Revoke this key", key_id="$response.body#/id"
        ),
    },
    ("/v1/admin/users", "post", "201"): {
        "ChangeUser": _link(
            "change_user_v1_admin_users__username__patch",
            "Change this user",
            username="$response.body#/username",
        ),
        "ResetPassword": _link(
            "reset_password_v1_admin_users__username__password_post",
            "Set this user's password",
            username="$response.body#/username",
        ),
    },
    ("/v1/models", "get", "200"): {
        "Model": _link("model_detail_v1_models__name__get", "The first model's versions", name=_MODEL),
        "Series": _link("list_series_v1_models__name__series_get", "The first model's series", name=_MODEL),
        "Forecast": _link("forecast_v1_models__name__forecast_post", "Forecast the first model", name=_MODEL),
        "Drift": _link("drift_history_v1_models__name__drift_get", "The first model's drift", name=_MODEL),
        "Accuracy": _link("accuracy_history_v1_models__name__accuracy_get", "Its live accuracy", name=_MODEL),
    },
    ("/v1/models/{name}/series", "get", "200"): {
        "Forecast": {
            **_link(
                "forecast_v1_models__name__forecast_post",
                "Forecast its first series",
                name="$request.path.name",
            ),
            "requestBody": {"series_ids": ["$response.body#/0"], "horizon": 1},
        },
        "Batch": {
            **_link("batch_forecast_v1_forecasts_post", "Its first series in a batch"),
            "requestBody": {
                "requests": [
                    {"model": "$request.path.name", "series_ids": ["$response.body#/0"], "horizon": 1}
                ]
            },
        },
    },
    ("/v1/models/{name}/drift", "get", "200"): {
        "Report": _link(
            "drift_report_html_v1_models__name__drift__report_id__html_get",
            "The latest check's Evidently report",
            name="$request.path.name",
            report_id="$response.body#/latest/id",
        ),
    },
    ("/v1/contracts/reports", "get", "200"): {
        "Report": _link(
            "report_detail_v1_contracts_reports__run_id__get",
            "The newest check's rules",
            run_id="$response.body#/0/run_id",
        ),
        "Docs": _link(
            "report_docs_v1_contracts_reports__run_id__docs__path__get",
            "The newest check's Data Docs",
            run_id="$response.body#/0/run_id",
            path="index.html",
        ),
    },
}
