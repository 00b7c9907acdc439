"""Prometheus and Alertmanager configurations for a machine other than the compose network.

infra/prometheus/ and infra/alertmanager/ hold the production files, written with compose's
service names (``api:9464``, ``alertmanager:9093``, ``http://api:8000/...``). ``astralytiq up``,
infra/run_production_stack.py and the tests run the same programs on loopback: these functions
copy the files with only the addresses and credential files changed, so what is tested is what
ships. The rule files beside prometheus.yml are copied unchanged.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = REPO / "infra" / "prometheus"
ALERTMANAGER_DIR = REPO / "infra" / "alertmanager"
WEBHOOK_RECEIVER = "astralytiq-api"  # the receiver of alertmanager.yml that calls the API
WEBHOOK_PATH = "/v1/alerts/webhook"
# The addresses compose gives the services, as written in the files above.
COMPOSE_API_METRICS = "api:9464"
COMPOSE_ALERTMANAGER = "alertmanager:9093"


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def alertmanager_binary() -> str | None:
    """Upstream names it ``alertmanager``; Debian's prometheus-alertmanager package
    ``prometheus-alertmanager``."""
    return shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")


@dataclass(frozen=True)
class PrometheusTargets:
    """Where this machine's Prometheus finds the API's /metrics and the Alertmanager."""

    api_metrics: str  # host:port
    alertmanager: str  # host:port
    # A file holding the bearer token for /metrics when scraping the API port (`up`, where the
    # API opens no unauthenticated metrics port); None: the metrics port needs none.
    metrics_credentials_file: Path | None = None


def render_prometheus_config(
    target: Path, where: PrometheusTargets, source_dir: Path = PROMETHEUS_DIR
) -> Path:
    """prometheus.yml (and its rule files beside it) at ``target`` with this machine's addresses."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for path in source_dir.iterdir():
        if path.is_file() and path.name != "prometheus.yml":
            shutil.copy(path, target.parent / path.name)
    config: dict[str, Any] = yaml.safe_load((source_dir / "prometheus.yml").read_text())
    swap = {COMPOSE_API_METRICS: where.api_metrics, COMPOSE_ALERTMANAGER: where.alertmanager}
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            if COMPOSE_API_METRICS in static["targets"] and where.metrics_credentials_file is not None:
                job["authorization"] = {
                    "type": "Bearer",
                    "credentials_file": str(where.metrics_credentials_file),
                }
            static["targets"] = [swap.get(address, address) for address in static["targets"]]
    for manager in config.get("alerting", {}).get("alertmanagers", []):
        for static in manager.get("static_configs", []):
            static["targets"] = [swap.get(address, address) for address in static["targets"]]
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def render_alertmanager_config(
    target: Path,
    api_url: str,
    credentials_file: Path,
    source: Path = ALERTMANAGER_DIR / "alertmanager.yml",
    intervals: dict[str, str] | None = None,
) -> Path:
    """alertmanager.yml at ``target`` with the webhook receiver calling ``api_url`` and reading
    its token from ``credentials_file``; ``intervals`` overrides the route's group_wait and
    group_interval (the tests wait a second, not ten)."""
    config: dict[str, Any] = yaml.safe_load(source.read_text())
    (receiver,) = [r for r in config["receivers"] if r["name"] == WEBHOOK_RECEIVER]
    for webhook in receiver["webhook_configs"]:
        webhook["url"] = api_url.rstrip("/") + WEBHOOK_PATH
        webhook["http_config"]["authorization"]["credentials_file"] = str(credentials_file)
    config["route"].update(intervals or {})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target
