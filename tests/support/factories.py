"""Bundles and registered model versions for the tests: a small served bundle, variants of a
trained one, and versions registered in the real MLflow server the way training registers them
(an MLflow pyfunc holding bundle.json)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from models.bundle import ForecastBundle, SeriesForecast
from models.engine import TrainingConfig
from registry.names import CHAMPION
from registry.rest import RegistryClient
from tests.support import REPO


def register(tracking_uri: str, model_name: str, bundle_json: bytes | str) -> str:
    """Register ``bundle_json`` as a new version of ``model_name``; returns the version."""
    from registry.flavor import register_bundle

    return register_bundle(tracking_uri, f"serving-tests-{model_name}", model_name, bundle_json)


def set_champion(tracking_uri: str, model_name: str, version: str) -> None:
    RegistryClient(tracking_uri).set_alias(model_name, CHAMPION, version)


def delete_model(tracking_uri: str, model_name: str) -> None:
    """Remove a model a test registered, so the models other tests list are theirs alone."""
    from registry.tracking import client_for

    client_for(tracking_uri).delete_registered_model(model_name)


def champion_of(tracking_uri: str, model_name: str) -> str:
    version = RegistryClient(tracking_uri).champion(model_name)
    assert version is not None, f"{model_name} has no champion"
    return version


def variant(bundle: ForecastBundle, model_name: str, scale: float, series: int = 4) -> ForecastBundle:
    """The first ``series`` series of ``bundle`` under another name, forecasts scaled by ``scale``:
    each version's numbers tell which version answered."""
    kept = dict(sorted(bundle.series.items())[:series])
    scaled = {
        key: dataclasses.replace(
            entry, mean=[v * scale for v in entry.mean], sigma=[v * scale for v in entry.sigma]
        )
        for key, entry in kept.items()
    }
    return dataclasses.replace(bundle, model_name=model_name, series=scaled)


def demo_variants(tracking_uri: str, model_name: str) -> dict[str, str]:
    """Two versions of ``model_name`` made from the trained demo's champion, scaled x1 and x3
    (so an answer tells which one served it), with x1 the champion: version by label."""
    from registry.tracking import load_champion_bundle

    _, demo = load_champion_bundle(tracking_uri, "nyc_flights")
    versions = {
        label: register(tracking_uri, model_name, variant(demo, model_name, scale).to_json())
        for label, scale in (("x1", 1.0), ("x3", 3.0))
    }
    set_champion(tracking_uri, model_name, versions["x1"])
    return versions


def bundle(name: str = "demand", series: int = 3, mean: float = 10.0) -> ForecastBundle:
    """A seasonal-naive-shaped daily bundle of ``series`` series (s0, s1, ...), 7 steps ahead;
    series i forecasts ``mean + i``, so each version's level tells it apart."""
    dates = [f"2024-01-{d:02d}" for d in range(1, 8)]
    history = [f"2023-12-{d:02d}" for d in range(1, 29)]
    return ForecastBundle(
        model_name=name,
        freq="D",
        season_length=7,
        max_horizon=7,
        train_start="2023-01-01",
        train_end="2023-12-31",
        nonnegative=True,
        series={
            f"s{i}": SeriesForecast(
                series_id=f"s{i}",
                model="seasonal_naive",
                dates=list(dates),
                mean=[mean + i] * 7,
                sigma=[1.0 + 0.1 * step for step in range(7)],
                history_dates=list(history),
                history_values=[float(v) for v in range(28)],
            )
            for i in range(series)
        },
    )


# ---- training data -----------------------------------------------------------------------------

SMALL_CONFIG = TrainingConfig(
    freq="D", horizon=7, season_length=7, candidates=("seasonal_naive",), backtest_windows=2
)


def synthetic_frame(n_series: int = 3, length: int = 70) -> pd.DataFrame:
    """``n_series`` daily series s0, s1, ... of ``length`` noisy values around 10."""
    rng = np.random.default_rng(0)
    ds = pd.date_range("2024-01-01", periods=length, freq="D")
    return pd.concat(
        pd.DataFrame({"series_id": f"s{i}", "ds": ds, "y": 10 + rng.random(length)}) for i in range(n_series)
    )


DEMO_SERIES = ("ATL", "BOS", "CLT", "DEN", "FLL", "LAX")
DEMO_SUBSET_SPEC = """\
name: {name}
source: {{kind: csv, path: {name}.csv}}
covariates: [temp_mean_f, precip_in]
frequency: D
season_length: 7
horizon: 14
model_name: {name}
contract: nyc_flights
training:
  candidates: [{candidates}]
  backtest_windows: 3
  until: 2013-12-03
  promotion_margin: {margin}
monitoring:
  drift_threshold: {threshold}
"""


def write_dataset(
    folder: Path,
    name: str,
    margin: float = 0.01,
    threshold: float = 0.5,
    series: tuple[str, ...] = DEMO_SERIES,
    candidates: str = "seasonal_naive, ets",
) -> Path:
    """Some series of the demo data as a dataset of its own: a CSV and its spec."""
    with open(REPO / "datasets" / "demo" / "nyc_flights_daily.csv", newline="") as source:
        reader = csv.DictReader(source)
        rows = [row for row in reader if row["series_id"] in series]
        fields = reader.fieldnames
    assert fields
    with open(folder / f"{name}.csv", "w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    spec = folder / f"{name}.yaml"
    spec.write_text(
        DEMO_SUBSET_SPEC.format(name=name, margin=margin, threshold=threshold, candidates=candidates)
    )
    return spec
