"""Models are loaded only from the registry, as a JSON bundle: a version whose bundle is a
pickle is refused at promotion without a line of it running, and nothing else is served."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Platform
from tests.support.factories import register


class _WritesAMarker:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_bundle_in_the_registry_is_refused_and_never_run(
    api: TestClient, admin: dict[str, str], platform_env: Platform, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    payload = pickle.dumps(_WritesAMarker(marker))
    version = register(platform_env.tracking_uri, "pickled", payload)
    response = api.post(
        "/v1/models/pickled/promote", json={"version": version, "reason": "attack"}, headers=admin
    )
    assert response.status_code == 422, response.text
    assert "champion is unchanged" in response.json()["detail"]
    assert not marker.exists()
    assert "pickled" not in api.app.state.store.all()  # type: ignore[attr-defined]
    forecast = api.post(
        "/v1/models/pickled/forecast", json={"series_ids": ["x"], "horizon": 1}, headers=admin
    )
    assert forecast.status_code == 404
