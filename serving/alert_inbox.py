"""The alerts Alertmanager sends to the API: its webhook notification (version 4) as typed
models, and how a notification updates the app database's ``alerts`` table.

Every label and annotation is text from whoever controls a metric's labels (a series id, a model
name), so it is bounded here and escaped wherever it is shown (the portal's tables escape HTML).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from astralytiq.db import Alert, utcnow

MAX_ALERTS = 1000  # Alertmanager's max_alerts is unbounded by default; more is not a real group
MAX_LABELS = 64
LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$"  # Prometheus' label name syntax, bounded
LabelName = Annotated[str, StringConstraints(pattern=LABEL_NAME)]
LabelValue = Annotated[str, StringConstraints(max_length=1024)]
AnnotationValue = Annotated[str, StringConstraints(max_length=8192)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=MAX_LABELS)]
Annotations = Annotated[dict[LabelName, AnnotationValue], Field(max_length=MAX_LABELS)]
# Alertmanager's endsAt of an alert with no known end is Go's zero time, 0001-01-01T00:00:00Z.
NO_END_BEFORE = datetime(1970, 1, 2, tzinfo=UTC)


def _whole_number(value: Any) -> Any:
    """JSON Schema counts 140.0 as an integer; strict pydantic would not (but refuses "140")."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class NotifiedAlert(BaseModel):
    """One alert of a notification, as Alertmanager's webhook sends it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, strict=True)

    status: Literal["firing", "resolved"]
    # Prometheus names every alert by its rule: the schema says so, as the validator below does.
    labels: Annotated[
        Labels,
        Field(
            json_schema_extra={
                "required": ["alertname"],
                "properties": {"alertname": {"type": "string", "minLength": 1, "maxLength": 1024}},
            }
        ),
    ]
    annotations: Annotations = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: Annotated[str, StringConstraints(max_length=2048)] = Field("", alias="generatorURL")
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,64}$")]

    @field_validator("labels")
    @classmethod
    def _named(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("an alert needs the label 'alertname' (Prometheus sets it from the rule)")
        return labels

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("times need a UTC offset (RFC 3339, as Alertmanager sends them)")
        return value


class AlertmanagerNotification(BaseModel):
    """Alertmanager's webhook body, version 4 (prometheus.io/docs/alerting/latest/configuration,
    ``<webhook_config>``). Unknown fields are ignored, so a newer Alertmanager is still heard."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, strict=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: Annotated[str, StringConstraints(max_length=256)]
    group_key: Annotated[str, StringConstraints(max_length=8192)] = Field("", alias="groupKey")
    truncated_alerts: Annotated[int, BeforeValidator(_whole_number)] = Field(0, ge=0, alias="truncatedAlerts")
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Annotations = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Annotated[str, StringConstraints(max_length=2048)] = Field("", alias="externalURL")
    alerts: Annotated[list[NotifiedAlert], Field(min_length=1, max_length=MAX_ALERTS)]


def body_schema() -> dict[str, Any]:
    """The notification's JSON schema with its nested models written inline, for the OpenAPI
    document of a route that reads its body itself (after checking the caller)."""
    schema = AlertmanagerNotification.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            written = {key: inline(value) for key, value in node.items()}
            if "patternProperties" in written:  # a label name outside the pattern is refused
                written["additionalProperties"] = False
            return written
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Recorded:
    firing: int
    resolved: int
    stale: int  # older than what is stored (a late retry of an earlier episode): ignored


def record(session: Session, notification: AlertmanagerNotification, retries: int = 1) -> Recorded:
    """Store each alert's newest state under its fingerprint; commits. A notification that
    races another replica writing the same new alert is applied again once (then it updates)."""
    for attempt in range(retries + 1):
        try:
            result = _apply(session, notification)
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
            if attempt == retries:
                raise
    raise AssertionError("unreachable")


def _apply(session: Session, notification: AlertmanagerNotification) -> Recorded:
    counts = {"firing": 0, "resolved": 0, "stale": 0}
    now = utcnow()
    for alert in notification.alerts:
        row = session.get(Alert, alert.fingerprint)
        if row is not None and alert.starts_at < _aware(row.starts_at):
            counts["stale"] += 1  # an earlier episode of the same labels, delivered late
            continue
        if row is None:
            row = Alert(fingerprint=alert.fingerprint)
            session.add(row)
        ends_at = alert.ends_at if alert.ends_at is not None and alert.ends_at > NO_END_BEFORE else None
        row.alertname = alert.labels["alertname"][:256]
        row.status = alert.status
        row.severity = alert.labels.get("severity", "")[:64]
        row.model_name = alert.labels.get("model", "")[:256]
        row.labels = dict(alert.labels)
        row.annotations = dict(alert.annotations)
        row.starts_at = alert.starts_at
        row.ends_at = ends_at if alert.status == "resolved" else None
        row.generator_url = alert.generator_url
        row.receiver = notification.receiver
        row.updated_at = now
        counts[alert.status] += 1
        session.flush()  # a second alert of this notification with the same fingerprint finds it
    return Recorded(**counts)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL keeps the offset."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
