"""Alertmanager's configurations checked by its own tool (`amtool check-config`, Debian's
prometheus-alertmanager, installed by scripts/install_system_deps.sh) and held against the
Prometheus, compose and Kubernetes files that must agree with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.run_production_stack import COMPOSE, native_topology, render_alertmanager_config, services
from monitoring.alerting import WEBHOOK_PATH, WEBHOOK_RECEIVER
from tests.support import REPO, amtool, run

ALERTMANAGER = REPO / "infra" / "alertmanager" / "alertmanager.yml"
EXAMPLE = REPO / "infra" / "alertmanager" / "examples" / "slack-and-email.yml"


def k8s_alertmanager_config() -> str:
    documents = yaml.safe_load_all((REPO / "infra" / "k8s" / "config.yaml").read_text())
    (config,) = [d for d in documents if d and d["kind"] == "ConfigMap"]
    return str(config["data"]["alertmanager.yml"])


def check(path: Path) -> str:
    result = run([amtool(), "check-config", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    return result.stdout


def webhook(config: dict[str, Any]) -> dict[str, Any]:
    (receiver,) = [r for r in config["receivers"] if r["name"] == WEBHOOK_RECEIVER]
    (hook,) = receiver["webhook_configs"]
    return hook  # type: ignore[no-any-return]


def test_the_shipped_configuration_passes_amtool() -> None:
    assert "1 receivers" in check(ALERTMANAGER)


def test_the_slack_and_email_example_passes_amtool_and_still_feeds_the_api() -> None:
    assert "3 receivers" in check(EXAMPLE)
    example = yaml.safe_load(EXAMPLE.read_text())
    assert webhook(example) == webhook(yaml.safe_load(ALERTMANAGER.read_text()))
    assert example["route"]["routes"][0] == {"receiver": WEBHOOK_RECEIVER, "continue": True}
    kinds = {key for r in example["receivers"] for key in r if key.endswith("_configs")}
    assert kinds == {"webhook_configs", "slack_configs", "email_configs"}


def test_amtool_rejects_a_broken_configuration(tmp_path: Path) -> None:
    """The checks here can fail: amtool really parses what it is given."""
    broken = tmp_path / "alertmanager.yml"
    broken.write_text("route:\n  receiver: nobody\nreceivers:\n  - name: someone\n")
    result = run([amtool(), "check-config", str(broken)])
    assert result.returncode != 0 and "nobody" in result.stdout + result.stderr


def test_the_webhook_sends_resolved_alerts_with_a_token_from_a_file() -> None:
    hook = webhook(yaml.safe_load(ALERTMANAGER.read_text()))
    # Without resolved notifications, an alert would never leave the portal's list.
    assert hook["send_resolved"] is True
    assert hook["url"] == f"http://{COMPOSE.hosts['api']}:{COMPOSE.ports['api']}{WEBHOOK_PATH}"
    authorization = hook["http_config"]["authorization"]
    assert authorization == {"type": "Bearer", "credentials_file": COMPOSE.alert_token_file}
    assert "credentials" not in authorization  # the secret itself is never in the file


def test_kubernetes_configuration_differs_only_in_the_api_address_and_token_path(tmp_path: Path) -> None:
    text = k8s_alertmanager_config()
    (tmp_path / "alertmanager.yml").write_text(text)
    check(tmp_path / "alertmanager.yml")
    k8s, shipped = yaml.safe_load(text), yaml.safe_load(ALERTMANAGER.read_text())
    k8s_hook, shipped_hook = webhook(k8s), webhook(shipped)
    assert k8s_hook["url"].endswith(".svc.cluster.local:8000" + WEBHOOK_PATH)
    token_path = k8s_hook["http_config"]["authorization"]["credentials_file"]
    deployment = next(
        d
        for d in yaml.safe_load_all((REPO / "infra" / "k8s" / "alertmanager.yaml").read_text())
        if d and d["kind"] == "Deployment"
    )
    mounts = {
        m["name"]: m["mountPath"]
        for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    (item,) = volumes["webhook-token"]["secret"]["items"]
    assert token_path == f"{mounts['webhook-token']}/{item['path']}" and item["key"] == "alert-webhook-token"
    for hook in (k8s_hook, shipped_hook):
        del hook["url"], hook["http_config"]["authorization"]["credentials_file"]
    assert k8s == shipped


def test_compose_hands_alertmanager_the_token_the_api_checks() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    manager = compose["services"]["alertmanager"]
    assert manager["secrets"] == ["alert_webhook_token"]
    assert compose["secrets"]["alert_webhook_token"] == {"environment": "ASTRALYTIQ_ALERT_WEBHOOK_TOKEN"}
    assert COMPOSE.alert_token_file == "/run/secrets/alert_webhook_token"
    assert "ASTRALYTIQ_ALERT_WEBHOOK_TOKEN" in compose["services"]["api"]["environment"]
    assert (
        services(COMPOSE)["api"].environment["ASTRALYTIQ_ALERT_WEBHOOK_TOKEN"]
        == "${ASTRALYTIQ_ALERT_WEBHOOK_TOKEN}"
    )
    # Prometheus sends to the Alertmanager compose runs, on the port it listens on.
    prometheus = yaml.safe_load((REPO / "infra" / "prometheus" / "prometheus.yml").read_text())
    (manager_config,) = prometheus["alerting"]["alertmanagers"]
    assert manager_config["static_configs"][0]["targets"] == [
        f"{COMPOSE.hosts['alertmanager']}:{COMPOSE.ports['alertmanager']}"
    ]
    assert f"--web.listen-address=0.0.0.0:{COMPOSE.ports['alertmanager']}" in manager["command"]


def test_the_native_stack_configuration_passes_amtool(tmp_path: Path) -> None:
    ports = {**COMPOSE.ports, "api": 18125}
    topology = native_topology(tmp_path, ports, "postgres@127.0.0.1:5432", "x", "k" * 40)
    render_alertmanager_config(topology)
    check(Path(topology.alertmanager_config))
    hook = webhook(yaml.safe_load(Path(topology.alertmanager_config).read_text()))
    assert hook["url"] == f"http://127.0.0.1:18125{WEBHOOK_PATH}"
    token_file = Path(hook["http_config"]["authorization"]["credentials_file"])
    assert token_file.read_text() == topology.alert_webhook_token
    assert token_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("path", [ALERTMANAGER, EXAMPLE])
def test_routes_group_per_model(path: Path) -> None:
    """A drifting model's notification must not wait behind, or hide, another model's."""
    assert yaml.safe_load(path.read_text())["route"]["group_by"] == ["alertname", "model"]


def test_the_readme_example_passes_amtool(tmp_path: Path) -> None:
    """The Slack and e-mail configuration the README shows is one amtool accepts."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Alerts") : readme.index("## Datasets and data contracts")]
    (example,) = [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]
    (tmp_path / "alertmanager.yml").write_text(example)
    assert "2 receivers" in check(tmp_path / "alertmanager.yml")


def test_up_renders_configurations_both_tools_accept(tmp_path: Path) -> None:
    """What `astralytiq up` starts: Alertmanager calling the API on loopback with the API's own
    webhook token, Prometheus scraping the API port with the API's metrics token."""
    from astralytiq.settings import Settings
    from cli.platform import AlertingPrograms, alerting_commands
    from tests.support import promtool

    settings = Settings(data_dir=tmp_path, api_port=18126, prometheus_port=18127, alertmanager_port=18128)
    commands = alerting_commands(settings, "127.0.0.1", AlertingPrograms("prometheus", "alertmanager"))
    assert commands is not None
    alertmanager_command, prometheus_command = commands
    assert "--web.listen-address=127.0.0.1:18128" in alertmanager_command
    assert "--web.listen-address=127.0.0.1:18127" in prometheus_command
    am_config = Path(next(a for a in alertmanager_command if a.startswith("--config.file=")).split("=", 1)[1])
    prom_config = Path(next(a for a in prometheus_command if a.startswith("--config.file=")).split("=", 1)[1])
    check(am_config)
    hook = webhook(yaml.safe_load(am_config.read_text()))
    assert hook["url"] == f"http://127.0.0.1:18126{WEBHOOK_PATH}"
    token_file = Path(hook["http_config"]["authorization"]["credentials_file"])
    assert token_file.read_text() == settings.alert_webhook_bearer()
    result = run([promtool(), "check", "config", str(prom_config)])
    assert result.returncode == 0, result.stdout + result.stderr
    prometheus = yaml.safe_load(prom_config.read_text())
    (job,) = prometheus["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:18126"]
    assert Path(job["authorization"]["credentials_file"]).read_text() == settings.metrics_bearer()
    (manager,) = prometheus["alerting"]["alertmanagers"]
    assert manager["static_configs"][0]["targets"] == ["127.0.0.1:18128"]
    # Production without a webhook token: `up` starts no Alertmanager it could not authenticate.
    production = Settings(data_dir=tmp_path / "p", environment="production", secret_key="s" * 48)
    assert alerting_commands(production, "127.0.0.1", AlertingPrograms("p", "a")) is None
