"""The Alertmanager webhook receiver (POST /v1/alerts/webhook) on a real SQLite app database,
migrated by Alembic: who may call it, what bodies it refuses and why, and an alert's life from
firing to resolved. The router runs in a small app of its own (the receiver needs the settings,
the token and the database, not the model registry); the whole API with real Prometheus and
Alertmanager is tests/integration/test_alerting.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from astralytiq.db import Alert, session_factory, upgrade_database
from astralytiq.settings import Settings
from serving import errors
from serving.routes import alerts

TOKEN = "t" * 40
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def notification(status: str = "firing", **alert: Any) -> dict[str, Any]:
    """A notification as Alertmanager 0.25 sends it (one alert, webhook payload version 4)."""
    one = {
        "status": status,
        "labels": {"alertname": "ModelDriftDetected", "model": "nyc_flights", "severity": "warning"},
        "annotations": {"summary": "Drift in the newest actuals of nyc_flights"},
        "startsAt": "2026-12-08T02:00:00.000Z",
        "endsAt": "2026-12-08T03:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "0123456789abcdef",
        **alert,
    }
    return {
        "version": "4",
        "groupKey": '{}:{alertname="ModelDriftDetected"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "astralytiq-api",
        "groupLabels": {"alertname": "ModelDriftDetected"},
        "commonLabels": one["labels"],
        "commonAnnotations": one["annotations"],
        "externalURL": "http://alertmanager:9093",
        "alerts": [one],
    }


def build(tmp_path: Path, token: str = TOKEN, max_bytes: int = 256 * 1024) -> tuple[TestClient, Settings]:
    settings = Settings(data_dir=tmp_path, alert_webhook_token=token, alert_webhook_max_bytes=max_bytes)  # type: ignore[arg-type]
    upgrade_database(settings.app_database_url)
    app = FastAPI()
    errors.install(app)
    app.state.settings = settings
    app.state.sessions = session_factory(settings.app_database_url)
    app.state.alert_webhook_bearer = token
    app.include_router(alerts.router)
    return TestClient(app), settings


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    client, settings = build(tmp_path)
    with client:
        yield client, settings


def stored(settings: Settings) -> list[Alert]:
    with session_factory(settings.app_database_url)() as session:
        return list(session.scalars(select(Alert)))


def test_firing_then_resolved_leaves_the_firing_list(receiver: tuple[TestClient, Settings]) -> None:
    client, settings = receiver
    answer = client.post("/v1/alerts/webhook", json=notification("firing"), headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"firing": 1, "resolved": 0, "stale": 0}
    (row,) = stored(settings)
    assert (row.alertname, row.status, row.model_name, row.severity) == (
        "ModelDriftDetected", "firing", "nyc_flights", "warning",
    )  # fmt: skip
    assert row.ends_at is None  # Go's zero time means "no end yet", not year 1

    answer = client.post("/v1/alerts/webhook", json=notification("resolved"), headers=AUTH)
    assert answer.json() == {"firing": 0, "resolved": 1, "stale": 0}
    (row,) = stored(settings)
    assert row.status == "resolved" and row.ends_at is not None and row.ends_at.hour == 3

    # A late retry of the earlier episode does not bring it back; a new episode does.
    late = notification("firing", startsAt="2026-12-07T23:00:00Z")
    assert client.post("/v1/alerts/webhook", json=late, headers=AUTH).json()["stale"] == 1
    assert stored(settings)[0].status == "resolved"
    again = notification("firing", startsAt="2026-12-08T05:00:00Z")
    assert client.post("/v1/alerts/webhook", json=again, headers=AUTH).json()["firing"] == 1
    assert [r.status for r in stored(settings)] == ["firing"]


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "send 'Authorization: Bearer <ASTRALYTIQ_ALERT_WEBHOOK_TOKEN>'"),
        ({"Authorization": "Bearer " + "t" * 39}, "not the alert webhook token"),
        ({"Authorization": f"Basic {TOKEN}"}, "send 'Authorization: Bearer"),
        ({"X-API-Key": TOKEN}, "send 'Authorization: Bearer"),
    ],
)
def test_callers_without_the_token_are_refused_before_the_body_is_read(
    receiver: tuple[TestClient, Settings], headers: dict[str, str], detail: str
) -> None:
    client, settings = receiver
    answer = client.post(
        "/v1/alerts/webhook",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 401, answer.text
    assert detail in answer.json()["detail"]
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert stored(settings) == []


def test_without_a_configured_token_the_receiver_is_off(tmp_path: Path) -> None:
    client, _ = build(tmp_path, token="")
    with client:
        answer = client.post("/v1/alerts/webhook", json=notification(), headers={"Authorization": "Bearer "})
    assert answer.status_code == 403
    assert "set ASTRALYTIQ_ALERT_WEBHOOK_TOKEN" in answer.json()["detail"]


def test_a_short_or_example_token_is_refused_in_production(tmp_path: Path) -> None:
    secret = "s" * 48
    with pytest.raises(ValueError, match="ASTRALYTIQ_ALERT_WEBHOOK_TOKEN must be a random value"):
        Settings(environment="production", secret_key=secret, alert_webhook_token="short")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ASTRALYTIQ_ALERT_WEBHOOK_TOKEN"):
        Settings(environment="production", secret_key=secret, alert_webhook_token="changethis")  # type: ignore[arg-type]
    assert Settings(environment="production", secret_key=secret).alert_webhook_bearer() == ""
    # In development the token is kept in the data folder, where `astralytiq up` finds it too.
    development = Settings(data_dir=tmp_path)
    assert development.alert_webhook_bearer() == (tmp_path / "alert_webhook_token").read_text().strip()
    assert (tmp_path / "alert_webhook_token").stat().st_mode & 0o777 == 0o600


def broken(change: str) -> dict[str, Any]:
    body = notification()
    alert = body["alerts"][0]
    if change == "version 3":
        body["version"] = "3"
    elif change == "no alerts":
        body["alerts"] = []
    elif change == "unknown status":
        alert["status"] = "pending"
    elif change == "no alertname":
        alert["labels"] = {"model": "x"}
    elif change == "label name":
        alert["labels"] = {**alert["labels"], "bad name<script>": "x"}
    elif change == "fingerprint":
        alert["fingerprint"] = "../../etc/passwd"
    elif change == "naive time":
        alert["startsAt"] = "2026-12-08T02:00:00"
    elif change == "long label":
        alert["labels"] = {**alert["labels"], "series": "x" * 1025}
    return body


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ("version 3", ["body", "version"], "Input should be '4'"),
        ("no alerts", ["body", "alerts"], "at least 1 item"),
        ("unknown status", ["body", "alerts", 0, "status"], "'firing' or 'resolved'"),
        ("no alertname", ["body", "alerts", 0, "labels"], "needs the label 'alertname'"),
        ("label name", ["body", "alerts", 0, "labels", "bad name<script>", "[key]"], "match pattern"),
        ("fingerprint", ["body", "alerts", 0, "fingerprint"], "match pattern"),
        ("naive time", ["body", "alerts", 0, "startsAt"], "need a UTC offset"),
        ("long label", ["body", "alerts", 0, "labels", "series"], "at most 1024 characters"),
    ],
)
def test_bad_notifications_get_422_naming_the_field(
    receiver: tuple[TestClient, Settings], change: str, field: list[Any], message: str
) -> None:
    client, settings = receiver
    answer = client.post("/v1/alerts/webhook", json=broken(change), headers=AUTH)
    assert answer.status_code == 422, answer.text
    errors_ = answer.json()["detail"]
    assert any(e["loc"] == field and message in e["msg"] for e in errors_), errors_
    assert stored(settings) == []


def test_unreadable_bodies_get_a_clear_4xx(tmp_path: Path) -> None:
    client, settings = build(tmp_path, max_bytes=2048)
    with client:
        not_json = client.post(
            "/v1/alerts/webhook", content=b"{oops", headers={**AUTH, "Content-Type": "application/json"}
        )
        assert not_json.status_code == 400 and "could not be read as JSON" in not_json.json()["detail"]
        form = client.post("/v1/alerts/webhook", data={"a": "b"}, headers=AUTH)
        assert form.status_code == 415 and "Content-Type: application/json" in form.json()["detail"]
        big = notification()
        big["alerts"][0]["annotations"]["description"] = "d" * 4000
        too_large = client.post("/v1/alerts/webhook", json=big, headers=AUTH)
        assert (
            too_large.status_code == 413
            and "ASTRALYTIQ_ALERT_WEBHOOK_MAX_BYTES" in too_large.json()["detail"]
        )
        # Without a Content-Length (chunked), the limit holds while the body streams in.
        chunks = iter([json.dumps(big).encode()[:1500], json.dumps(big).encode()[1500:]])
        streamed = client.post(
            "/v1/alerts/webhook", content=chunks, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
    assert stored(settings) == []


def test_hostile_labels_are_stored_as_the_text_they_are(receiver: tuple[TestClient, Settings]) -> None:
    """Stored verbatim (escaping is the job of whoever shows them: the portal's health page test
    in tests/integration/test_portal.py shows this label escaped)."""
    client, settings = receiver
    hostile = "<img src=x onerror=alert(1)>\"=cmd|' /C calc'!A0"
    body = notification(labels={"alertname": "ModelDriftDetected", "model": hostile, "severity": "<b>"})
    body["alerts"][0]["annotations"] = {"summary": "[click](javascript:alert(1)) " + hostile}
    answer = client.post("/v1/alerts/webhook", json=body, headers=AUTH)
    assert answer.status_code == 200, answer.text
    (row,) = stored(settings)
    assert row.model_name == hostile and row.labels["severity"] == "<b>"
    assert row.annotations["summary"].endswith(hostile)


def test_the_documented_body_says_what_the_receiver_checks() -> None:
    """The OpenAPI body (schemathesis and client generators read it) refuses what the receiver
    refuses: an alert without alertname, a label name outside Prometheus' syntax."""
    from serving.alert_inbox import body_schema

    schema = body_schema()
    assert "$defs" not in json.dumps(schema)  # written inline: the route reads its body itself
    assert schema["required"] == ["version", "status", "receiver", "alerts"]
    labels = schema["properties"]["alerts"]["items"]["properties"]["labels"]
    assert labels["required"] == ["alertname"] and labels["additionalProperties"] is False
    assert schema["properties"]["alerts"]["maxItems"] == 1000
