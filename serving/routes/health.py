"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (async: a liveness probe never waits for a worker thread)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready; the body says what is missing"}})
def readyz(request: Request, response: Response) -> dict[str, Any]:  # sync: the DB check blocks
    """Ready when the app database answers and the registry was read; lists served models."""
    store = request.app.state.store
    checks: dict[str, Any] = {}
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", with its name
        checks["database"] = f"error: {exc.__class__.__name__}"
    checks["registry"] = "ok" if store.status.registry_ok else f"error: {store.status.registry_error}"
    checks["models"] = {name: m.version for name, m in store.all().items()}
    checks["failed"] = dict(store.status.failed)  # "name/version": why it is not served
    # Serving the last loaded champions counts as ready while MLflow is away.
    ready = checks["database"] == "ok" and (store.status.registry_ok or bool(checks["models"]))
    response.status_code = status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ready" if ready else "not ready", **checks}


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
