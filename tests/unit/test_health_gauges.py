"""Model-health gauges: monitoring rows stored in a real (SQLite) app database, read back by the
API's refresher and rendered as Prometheus text exactly as a scrape sees them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from astralytiq.db import session_factory, session_scope, upgrade_database
from monitoring.accuracy import AccuracyResult
from monitoring.drift import DriftResult, DriftWindows, FeatureDrift
from monitoring.store import save_accuracy, save_drift, save_monitor_run
from registry.rest import RegistryClient
from serving.health_gauges import HealthGauges
from serving.metrics import ModelHealthCollector
from serving.model_store import ModelStore

WINDOWS = DriftWindows(date(2013, 1, 1), date(2013, 12, 3), date(2013, 12, 4), date(2013, 12, 31))


def drift(share: float, drifted: bool) -> DriftResult:
    features = {
        "y:ATL": FeatureDrift(score=0.01, method="K-S p_value", drifted=True),
        "temp_mean_f": FeatureDrift(score=0.4, method="K-S p_value", drifted=False),
    }
    return DriftResult(WINDOWS, share, drifted, features, "<!doctype html><p>report</p>")


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_database(url)
    return url


def test_gauges_show_the_newest_stored_row_of_each_model(database: str, tmp_path: Path) -> None:
    with session_scope(database) as session:
        save_drift(session, tmp_path, "flights", "3", drift(0.1, False))
        save_drift(session, tmp_path, "flights", "3", drift(0.75, True))  # the newest wins
        save_drift(session, tmp_path, "other", "1", drift(0.2, False))
        accuracy = AccuracyResult(
            date(2013, 12, 4), date(2013, 12, 31), 1.25, 8.5, {"80": 0.7, "95": 0.9}, 24, 672
        )
        save_accuracy(session, "flights", "3", accuracy)
        save_monitor_run(session, "flights", "nyc_flights", "3", datetime(2013, 12, 31))
    registry = CollectorRegistry()
    collector = ModelHealthCollector()
    registry.register(collector)
    # No MLflow here (port 9 refuses): the refresher keeps going without training times.
    store = ModelStore(RegistryClient("http://127.0.0.1:9", timeout=0.5))
    HealthGauges(session_factory(database), store, collector).refresh()
    values = samples(registry)
    model = (("model", "flights"),)
    assert values[("astralytiq_drift_share", model)] == 0.75
    assert values[("astralytiq_drift_detected", model)] == 1.0
    assert values[("astralytiq_drift_detected", (("model", "other"),))] == 0.0
    assert values[("astralytiq_drift_feature_score", (("feature", "y:ATL"), ("model", "flights")))] == 0.01
    assert values[("astralytiq_drift_feature_drifted", (("feature", "y:ATL"), ("model", "flights")))] == 1.0
    assert (
        values[("astralytiq_drift_feature_drifted", (("feature", "temp_mean_f"), ("model", "flights")))] == 0
    )
    assert values[("astralytiq_live_mase", model)] == 1.25
    assert values[("astralytiq_live_wape_percent", model)] == 8.5
    assert values[("astralytiq_live_interval_coverage_ratio", (("level", "95"), ("model", "flights")))] == 0.9
    newest = datetime(2013, 12, 31, tzinfo=UTC).timestamp()
    assert values[("astralytiq_data_newest_actual_timestamp_seconds", model)] == newest
    age = values[("astralytiq_data_age_seconds", model)]
    assert age == pytest.approx(datetime.now(UTC).timestamp() - newest, abs=60)
    assert not any(name == "astralytiq_last_training_timestamp_seconds" for name, _ in values)


def test_no_monitoring_yet_exports_no_model_series(database: str) -> None:
    registry = CollectorRegistry()
    collector = ModelHealthCollector()
    registry.register(collector)
    HealthGauges(
        session_factory(database), ModelStore(RegistryClient("http://127.0.0.1:9", timeout=0.5)), collector
    ).refresh()
    assert not [
        key for key in samples(registry) if key[0].startswith(("astralytiq_drift", "astralytiq_live"))
    ]
