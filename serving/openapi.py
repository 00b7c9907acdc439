"""The OpenAPI document says the limits this process enforces, with their configured values."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
