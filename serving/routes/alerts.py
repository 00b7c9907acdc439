"""Alerts: Alertmanager's webhook receiver, and the firing alerts the portal's health page lists.

The receiver authenticates Alertmanager by a bearer secret of its own (ASTRALYTIQ_ALERT_WEBHOOK_TOKEN,
compared in constant time), not by a person's token or an API key: Alertmanager holds one
credential file, and a leaked key of a forecasting client must not be able to forge alerts.
It checks the caller before it reads the body, and reads at most alert_webhook_max_bytes.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from sqlalchemy import select

from astralytiq.db import Alert
from serving.alert_inbox import AlertmanagerNotification, body_schema, record
from serving.deps import SessionDep, Viewer
from serving.errors import COMMON_RESPONSES, JSON_BODY_HINT
from serving.schemas import AlertOut, AlertsOut, AlertsRecorded, ErrorDetail

log = logging.getLogger("astralytiq.serving")
router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
webhook_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AlertWebhookToken",
    description="ASTRALYTIQ_ALERT_WEBHOOK_TOKEN, sent by Alertmanager (http_config.authorization).",
)


async def alertmanager(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(webhook_bearer)]
) -> None:
    expected: str = request.app.state.alert_webhook_bearer
    if not expected:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="the alert receiver is off: set ASTRALYTIQ_ALERT_WEBHOOK_TOKEN on the API and "
            "give Alertmanager the same value",
        )
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="send 'Authorization: Bearer <ASTRALYTIQ_ALERT_WEBHOOK_TOKEN>' (Alertmanager's "
            "http_config.authorization)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="not the alert webhook token (ASTRALYTIQ_ALERT_WEBHOOK_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        detail=f"notification over {limit} bytes (ASTRALYTIQ_ALERT_WEBHOOK_MAX_BYTES); lower "
        "max_alerts in Alertmanager's webhook_config or raise the limit",
    )


@router.post(
    "/webhook",
    response_model=AlertsRecorded,
    dependencies=[Depends(alertmanager)],
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema()}}}
    },
    responses={
        400: {"model": ErrorDetail, "description": "The body is not JSON"},
        401: {"model": ErrorDetail, "description": "No or not the alert webhook token"},
        403: {"model": ErrorDetail, "description": "The receiver is off (no token configured)"},
        413: {"model": ErrorDetail, "description": "Body over ASTRALYTIQ_ALERT_WEBHOOK_MAX_BYTES"},
        415: {"model": ErrorDetail, "description": "Not sent as application/json"},
        422: {
            "model": ErrorDetail,
            "description": "Not an Alertmanager notification (version 4): the detail names each field at fault",
        },
        503: COMMON_RESPONSES[503],
    },
)
async def alertmanager_webhook(request: Request, session: SessionDep) -> AlertsRecorded:
    """Alertmanager's webhook (payload version 4): stores each alert's state, so firing alerts
    show on the portal's health page and resolved ones leave it. Configure it with
    `send_resolved: true` (infra/alertmanager/alertmanager.yml)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=f"{JSON_BODY_HINT}, as Alertmanager sends it"
        )
    body = await _bounded_body(request, request.app.state.settings.alert_webhook_max_bytes)
    try:
        notification = AlertmanagerNotification.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                detail=f"the body could not be read as JSON ({errors[0]['msg']}); {JSON_BODY_HINT}",
            ) from None
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
    recorded = record(session, notification)
    log.info(
        "alertmanager notification from receiver %r: %d firing, %d resolved, %d stale",
        notification.receiver,
        recorded.firing,
        recorded.resolved,
        recorded.stale,
    )
    return AlertsRecorded(firing=recorded.firing, resolved=recorded.resolved, stale=recorded.stale)


def _out(row: Alert) -> AlertOut:
    return AlertOut(
        fingerprint=row.fingerprint,
        alertname=row.alertname,
        status="firing" if row.status == "firing" else "resolved",
        severity=row.severity,
        model=row.model_name or None,
        summary=row.annotations.get("summary"),
        description=row.annotations.get("description"),
        labels=row.labels,
        annotations=row.annotations,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        updated_at=row.updated_at,
    )


@router.get("", response_model=AlertsOut, responses=COMMON_RESPONSES)
def list_alerts(
    session: SessionDep,
    principal: Viewer,
    state: Annotated[
        Literal["firing", "resolved"],
        Query(alias="status", description="Firing alerts (default) or recently resolved ones."),
    ] = "firing",
    limit: Annotated[int, Query(ge=1, le=500, description="How many, newest first.")] = 100,
) -> AlertsOut:
    """Alerts as Alertmanager last reported them, newest first. An API key limited to some models
    sees only the alerts labelled with one of them."""
    query = select(Alert).where(Alert.status == state)
    if principal.models:
        query = query.where(Alert.model_name.in_(principal.models))
    rows = session.scalars(query.order_by(Alert.starts_at.desc()).limit(limit)).all()
    return AlertsOut(status=state, alerts=[_out(row) for row in rows])
