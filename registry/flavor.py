"""The bundle as an MLflow pyfunc model, so MLflow (and `mlflow models serve`) can load it.

Input: a frame with ``series_id`` and ``horizon``; param ``levels``: interval levels in percent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from models.bundle import ForecastBundle
from registry.names import BUNDLE_ARTIFACT


class ForecastBundleModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
    def load_context(self, context: Any) -> None:
        self.bundle = ForecastBundle.load(Path(context.artifacts[BUNDLE_ARTIFACT]))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        levels = [float(v) for v in (params or {}).get("levels", [80.0, 95.0])]
        rows: list[dict[str, Any]] = []
        for horizon, group in model_input.groupby("horizon", sort=False):
            rows.extend(self.bundle.forecast(group["series_id"].astype(str).tolist(), int(horizon), levels))
        return pd.DataFrame(rows)


def signature() -> Any:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("string", "series_id"), ColSpec("long", "horizon")]),
        outputs=Schema([ColSpec("string", "series_id"), ColSpec("string", "ds"), ColSpec("double", "yhat")]),
        params=ParamSchema([ParamSpec("levels", "double", [80.0, 95.0], shape=(-1,))]),
    )


def register_bundle(tracking_uri: str, experiment: str, model_name: str, bundle_json: bytes | str) -> str:
    """Log ``bundle_json`` as this flavor in a run of its own and register it as a new version of
    ``model_name``; returns the version. For benchmarks and tests: training registers through
    ``registry.registration.register_once``, which adds the signature, metrics and idempotency key."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run():
        path = Path(tmp) / "bundle.json"
        path.write_bytes(bundle_json.encode() if isinstance(bundle_json, str) else bundle_json)
        info = mlflow.pyfunc.log_model(
            name="forecaster",
            python_model=ForecastBundleModel(),
            artifacts={BUNDLE_ARTIFACT: str(path)},
            registered_model_name=model_name,
            pip_requirements=["mlflow"],
        )
    return str(info.registered_model_version)
