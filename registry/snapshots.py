"""Forecast snapshot bundles in MLflow's artifact store, beside the model version's own bundle
(the run that trained it), so they live wherever MLflow keeps artifacts (a folder, object storage)."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.bundle import ForecastBundle
from registry.names import BUNDLE_FILE, CHAMPION, SNAPSHOT_FOLDER
from registry.tracking import client_for


@dataclass(frozen=True)
class Champion:
    version: str
    run_id: str
    bundle: ForecastBundle


@dataclass(frozen=True)
class StoredSnapshot:
    artifact_uri: str  # the run's artifact root
    artifact_path: str  # the file under it
    sha256: str


def load_champion(tracking_uri: str, model_name: str) -> Champion:
    """The champion's version, its training run and its bundle (one alias read, so the three agree)."""
    import mlflow

    info = client_for(tracking_uri).get_model_version_by_alias(model_name, CHAMPION)
    with tempfile.TemporaryDirectory(prefix="champion-") as tmp:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}/{info.version}",
            dst_path=tmp,
            tracking_uri=tracking_uri,
            registry_uri=tracking_uri,
        )
        bundle = ForecastBundle.load(Path(path) / BUNDLE_FILE)
    return Champion(str(info.version), str(info.run_id), bundle)


def store_snapshot(tracking_uri: str, run_id: str, name: str, payload: bytes) -> StoredSnapshot:
    """Log ``payload`` (a bundle's JSON) as ``forecast_snapshots/<name>`` of the training run."""
    client = client_for(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(payload)
        client.log_artifact(run_id, str(path), artifact_path=SNAPSHOT_FOLDER)
    root = client.get_run(run_id).info.artifact_uri
    return StoredSnapshot(str(root), f"{SNAPSHOT_FOLDER}/{name}", hashlib.sha256(payload).hexdigest())
