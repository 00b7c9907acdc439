"""The alert rules in infra/prometheus: checked and unit-tested by promtool (Debian's prometheus
package, installed by scripts/install_system_deps.sh), and held against what the API exports."""

from __future__ import annotations

import fnmatch
import re
import shutil
from pathlib import Path

import yaml

from tests.support import REPO, promtool, run

PROMETHEUS = REPO / "infra" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "tests" / "alerts_test.yml"


def alert_names(rules_text: str) -> set[str]:
    groups = yaml.safe_load(rules_text)["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_alert_rules_pass_promtool_check() -> None:
    result = run([promtool(), "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names(RULES.read_text()))} rules found" in result.stdout


def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = run([promtool(), "test", "rules", str(RULE_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    wanted = alert_names(RULES.read_text())
    assert wanted >= {
        "ModelDriftDetected",
        "ModelAccuracyDegraded",
        "StaleData",
        "ApiHighErrorRate",
        "ApiHighLatency",
    }
    assert firing == wanted and silent == wanted


def test_promtool_unit_tests_catch_a_rule_that_no_longer_fires(tmp_path: Path) -> None:
    """The unit tests can fail: with the MASE threshold raised, the degraded-accuracy case breaks."""
    rules = RULES.read_text()
    assert "astralytiq_live_mase) > 1.5" in rules
    (tmp_path / "alerts.yml").write_text(
        rules.replace("astralytiq_live_mase) > 1.5", "astralytiq_live_mase) > 5")
    )
    (tmp_path / "tests").mkdir()
    shutil.copy(RULE_TESTS, tmp_path / "tests" / RULE_TESTS.name)
    result = run([promtool(), "test", "rules", str(tmp_path / "tests" / RULE_TESTS.name)])
    assert result.returncode != 0
    assert "alertname: ModelAccuracyDegraded" in result.stdout + result.stderr


def test_prometheus_loads_the_rules_and_not_their_tests() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    patterns = config["rule_files"]
    loaded = [p.name for p in PROMETHEUS.iterdir() if any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    assert loaded == ["alerts.yml"]
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"


def exported_metric_names() -> set[str]:
    """Every series name the API's /metrics can carry, with the suffixes of counters and histograms."""
    from prometheus_client import REGISTRY

    import serving.metrics  # noqa: F401  (registers the API's metrics)

    names: set[str] = set()
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_sum", "_count"],
            "info": ["_info"],
        }.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_alerts_only_use_metrics_the_api_exports() -> None:
    used = set(re.findall(r"\bastralytiq_[a-z0-9_]+", RULES.read_text()))
    assert used, "the rules name no API metric"
    assert used <= exported_metric_names(), used - exported_metric_names()
