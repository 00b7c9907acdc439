"""Model versions for the serving tests, registered in the real MLflow server the way training
registers them (an MLflow pyfunc holding bundle.json), including deliberately broken ones."""

from __future__ import annotations

import dataclasses

from models.bundle import ForecastBundle
from registry.names import CHAMPION
from registry.rest import RegistryClient


def register(tracking_uri: str, model_name: str, bundle_json: bytes | str) -> str:
    """Register ``bundle_json`` as a new version of ``model_name``; returns the version."""
    from registry.flavor import register_bundle

    return register_bundle(tracking_uri, f"serving-tests-{model_name}", model_name, bundle_json)


def set_champion(tracking_uri: str, model_name: str, version: str) -> None:
    RegistryClient(tracking_uri).set_alias(model_name, CHAMPION, version)


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
