"""Alerts end to end with the real programs: Prometheus evaluates the shipped alert rules
(infra/prometheus/alerts.yml) and sends what fires to Alertmanager, which calls the API's webhook
receiver with the API's token; the API records the alert, lists it as firing, and drops it from
that list once Prometheus sees the drift end and Alertmanager reports it resolved.

Prometheus and Alertmanager run from the configurations `astralytiq up` and the native production
stack render (monitoring/alerting.py), with one-second scrape, evaluation and grouping intervals
so the round trip takes seconds. The API is the session's real process (tests/conftest.py:
api_server). The drift gauge Prometheus scrapes comes from a small exporter in this test rather
than from the API: making the real API report drift needs a monitoring run on shifted actuals
(minutes), and what is under test here is the path from a firing rule to the portal's list.
ModelDriftDetected has no `for:`, so it fires at the first evaluation that sees the gauge at 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from monitoring.alerting import PrometheusTargets, render_alertmanager_config, render_prometheus_config
from tests.conftest import Platform
from tests.support import alertmanager, free_port, promtool, run, start, stop, wait_http

pytestmark = pytest.mark.slow

# A model name as hostile as a dataset's author may make it: it travels as a label through
# Prometheus and Alertmanager into the API and the portal.
MODEL = '<img src=x onerror=alert("drift")>'


@dataclass(frozen=True)
class Alerting:
    drift: Gauge
    prometheus_url: str
    alertmanager_url: str


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.25)
    raise AssertionError(f"{what} within {timeout:.0f}s")


@pytest.fixture(scope="module")
def alerting(
    api_server: str, platform_env: Platform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Alerting]:
    import shutil

    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is missing: run `bash scripts/install_system_deps.sh`")
    root = tmp_path_factory.mktemp("alerting")
    registry = CollectorRegistry()
    drift = Gauge(
        "astralytiq_drift_detected", "1 when the newest check found drift", ["model"], registry=registry
    )
    drift.labels(model=MODEL).set(0)
    exporter_port, prometheus_port, alertmanager_port = free_port(), free_port(), free_port()
    exporter, exporter_thread = start_http_server(exporter_port, "127.0.0.1", registry=registry)

    # The API (development) keeps its webhook token in its data folder, as `up` reads it.
    token_file = root / "webhook_token"
    token_file.write_text((platform_env.data_dir / "alert_webhook_token").read_text().strip())
    am_config = render_alertmanager_config(
        root / "alertmanager.yml",
        api_server,
        token_file,
        intervals={"group_wait": "1s", "group_interval": "1s"},
    )
    prom_config = render_prometheus_config(
        root / "prometheus" / "prometheus.yml",
        PrometheusTargets(
            api_metrics=f"127.0.0.1:{exporter_port}", alertmanager=f"127.0.0.1:{alertmanager_port}"
        ),
    )
    fast = yaml.safe_load(prom_config.read_text())
    fast["global"].update(scrape_interval="1s", evaluation_interval="1s")
    for job in fast["scrape_configs"]:
        job["scrape_timeout"] = "1s"  # never longer than the interval
    prom_config.write_text(yaml.safe_dump(fast, sort_keys=False))
    checked = run([promtool(), "check", "config", str(prom_config)])
    assert checked.returncode == 0, checked.stdout + checked.stderr

    processes = [
        start(
            [
                alertmanager(),
                f"--config.file={am_config}",
                f"--storage.path={root / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                "--cluster.listen-address=",
            ],
            root / "alertmanager.log",
        )
    ]
    try:
        wait_http(f"http://127.0.0.1:{alertmanager_port}/-/ready", 30, processes[0])
        processes.append(
            start(
                [
                    prometheus,
                    f"--config.file={prom_config}",
                    f"--storage.tsdb.path={root / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                ],
                root / "prometheus.log",
            )
        )
        wait_http(f"http://127.0.0.1:{prometheus_port}/-/ready", 30, processes[1])
        yield Alerting(drift, f"http://127.0.0.1:{prometheus_port}", f"http://127.0.0.1:{alertmanager_port}")
    finally:
        for process in reversed(processes):
            stop(process)
        exporter.shutdown()
        exporter_thread.join(timeout=5)


def test_a_firing_rule_reaches_the_api_and_leaves_its_list_once_resolved(
    alerting: Alerting, api_server: str, admin_credentials: tuple[str, str]
) -> None:
    username, password = admin_credentials
    login = httpx.post(f"{api_server}/v1/auth/token", data={"username": username, "password": password})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def ours(state: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{api_server}/v1/alerts", params={"status": state}, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return [
            a
            for a in answer.json()["alerts"]
            if a["alertname"] == "ModelDriftDetected" and a["model"] == MODEL
        ]

    # Prometheus sends Alertmanager to the address it was given, and loaded the shipped rules.
    managers = _wait(
        lambda: httpx.get(f"{alerting.prometheus_url}/api/v1/alertmanagers").json()["data"][
            "activeAlertmanagers"
        ],
        20,
        "Prometheus found no Alertmanager",
    )
    assert managers[0]["url"].startswith(alerting.alertmanager_url)
    assert not ours("firing")

    started = time.monotonic()
    alerting.drift.labels(model=MODEL).set(1)
    (firing,) = _wait(lambda: ours("firing"), 30, "the drift alert was not recorded as firing")
    fired_after = time.monotonic() - started
    assert firing["severity"] == "warning" and firing["labels"]["model"] == MODEL
    assert firing["summary"] == f"Drift in the newest actuals of {MODEL}"
    assert firing["ends_at"] is None

    started = time.monotonic()
    alerting.drift.labels(model=MODEL).set(0)
    _wait(lambda: not ours("firing"), 30, "the resolved alert stayed in the firing list")
    resolved_after = time.monotonic() - started
    (resolved,) = ours("resolved")
    assert resolved["fingerprint"] == firing["fingerprint"] and resolved["ends_at"] is not None
    print(f"firing recorded after {fired_after:.1f}s, resolved after {resolved_after:.1f}s")


def test_the_receiver_refuses_alertmanager_without_the_token(api_server: str, tmp_path: Path) -> None:
    """What a misconfigured Alertmanager meets: 401 with the reason, nothing recorded."""
    answer = httpx.post(
        f"{api_server}/v1/alerts/webhook",
        json={"version": "4", "status": "firing", "receiver": "x", "alerts": []},
        headers={"Authorization": "Bearer wrong"},
    )
    assert answer.status_code == 401 and "ASTRALYTIQ_ALERT_WEBHOOK_TOKEN" in answer.json()["detail"]
