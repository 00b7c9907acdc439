"""Simulated drift for demonstrations: a copy of a dataset whose newest actuals are shifted, and a
copy of its spec that reads it. The committed data is never touched.

The copy lives in ``<data dir>/simulated/<dataset>/``. Its spec names a model of its own,
``<model>_simulated`` (``simulate-drift`` registers the real champion there first), so the whole
loop (drift, alert, retrain, new champion) runs without writing into the real model's health
history or moving its alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from data_contracts.spec import DatasetSpec, read_yaml

SIMULATED_SUFFIX = "_simulated"


def simulated_model_name(model_name: str) -> str:
    """The model a simulation records under: never the real one."""
    return f"{model_name}{SIMULATED_SUFFIX}"


@dataclass(frozen=True)
class SimulatedDataset:
    spec_path: Path
    data_path: Path
    shifted_rows: int
    first_shifted: date
    last_shifted: date


def _read_source(spec: DatasetSpec) -> tuple[pd.DataFrame, Path]:
    source = spec.source
    if source.kind == "sql" or not source.path:
        raise ValueError(
            f"simulate-drift copies file sources (csv, parquet); {spec.name} reads SQL table {source.table!r}"
        )
    path = spec.resolve_path(source.path)
    if not path.is_file():
        raise ValueError(f"{spec.name}: source file {path} does not exist")
    frame = pd.read_parquet(path) if source.kind == "parquet" else pd.read_csv(path, keep_default_na=True)
    return frame, path


def newest_actuals_mask(spec: DatasetSpec, dates: pd.Series) -> pd.Series:
    """The rows after the training cutoff (``training.until``), else the last monitoring window."""
    if spec.training.until is not None:
        return dates > pd.Timestamp(spec.training.until)
    window = spec.monitoring.window or spec.horizon
    recent = sorted(dates.dropna().unique())[-window:]
    return dates.isin(recent)


def shift_newest_actuals(
    spec: DatasetSpec, frame: pd.DataFrame, factor: float
) -> tuple[pd.DataFrame, pd.Series]:
    """Multiply the target and every numeric covariate of the newest actuals by ``factor``."""
    if not 0 < factor != 1:
        raise ValueError(f"factor must be positive and not 1, got {factor}")
    dates = pd.to_datetime(frame[spec.columns.ds], errors="coerce")
    mask = newest_actuals_mask(spec, dates)
    if not mask.any():
        raise ValueError(f"{spec.name}: no actuals after the training cutoff {spec.training.until} to shift")
    shifted = frame.copy()
    for column in [spec.columns.y, *spec.covariate_names]:
        if column not in shifted or not pd.api.types.is_numeric_dtype(shifted[column]):
            continue
        values = shifted.loc[mask, column] * factor
        # Counts stay counts: an integer column is rounded, never turned into fractions.
        integer = pd.api.types.is_integer_dtype(shifted[column])
        shifted.loc[mask, column] = values.round().astype(shifted[column].dtype) if integer else values
    return shifted, mask


def write_simulated_dataset(spec: DatasetSpec, data_dir: Path, factor: float) -> SimulatedDataset:
    """Write the shifted copy and a spec that reads it; returns where they are."""
    if spec.spec_path is None:
        raise ValueError(f"{spec.name}: the spec has no file to copy")
    frame, source = _read_source(spec)
    shifted, mask = shift_newest_actuals(spec, frame, factor)
    folder = data_dir / "simulated" / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    data_path = folder / f"{source.name.split('.')[0]}_shifted.csv"
    tmp = data_path.with_suffix(".csv.tmp")
    shifted.to_csv(tmp, index=False)
    tmp.replace(data_path)  # a reader never sees half a file
    raw = read_yaml(spec.spec_path)
    raw["source"] = {**raw["source"], "kind": "csv", "path": str(data_path)}
    raw["model_name"] = simulated_model_name(spec.model_name)
    contract = raw.get("contract") or spec.contract
    if str(contract).endswith((".yaml", ".yml")):
        raw["contract"] = str(spec.resolve_path(str(contract)))
    # Training from this spec includes the shifted actuals, so a retrain can learn them.
    raw.get("training", {}).pop("until", None)
    raw["description"] = (
        f"{spec.description} Newest actuals multiplied by {factor:g} (simulate-drift).".strip()
    )
    spec_path = folder / f"{spec.name}.yaml"
    spec_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    dates = pd.to_datetime(frame.loc[mask, spec.columns.ds])
    return SimulatedDataset(
        spec_path=spec_path,
        data_path=data_path,
        shifted_rows=int(mask.sum()),
        first_shifted=dates.min().date(),
        last_shifted=dates.max().date(),
    )
