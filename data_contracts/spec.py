"""Dataset specs: one YAML file per dataset names its source, cadence, horizon and contract."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class SpecError(ValueError):
    """A dataset spec or contract file is missing or malformed; the message says how to fix it."""


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["csv", "parquet", "sql"]
    path: str | None = Field(None, description="File path, relative to the spec file.")
    url: str | None = Field(None, description="SQLAlchemy URL, for kind: sql.")
    table: str | None = Field(None, description="Table name, for kind: sql.")

    @model_validator(mode="after")
    def _complete(self) -> SourceSpec:
        if self.kind in ("csv", "parquet") and not self.path:
            raise ValueError(f"source kind {self.kind!r} needs 'path'")
        if self.kind == "sql" and not (self.url and self.table):
            raise ValueError("source kind 'sql' needs both 'url' and 'table'")
        return self


class ColumnMap(BaseModel):
    """Names of the long-format columns in the source."""

    model_config = ConfigDict(extra="forbid")

    series_id: str = "series_id"
    ds: str = "ds"
    y: str = "y"


class TrainingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidates: list[str] = Field(default_factory=lambda: ["seasonal_naive", "ets", "theta", "prophet"])
    backtest_windows: int = Field(3, ge=1, le=20)
    backtest_step: int | None = Field(None, ge=1)
    levels: list[float] = Field(default_factory=lambda: [80.0, 95.0])
    until: date | None = Field(
        None, description="Train only on data up to this date; later rows are new actuals."
    )

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[float]) -> list[float]:
        for level in levels:
            if not 0 < level < 100:
                raise ValueError(f"interval levels are percentages in (0, 100), got {level}")
        return levels


class MonitoringSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drift_threshold: float = Field(0.5, ge=0, le=1, description="Drifted share that triggers retraining.")
    window: int | None = Field(
        None, ge=1, description="Periods of recent data to check; default: the horizon."
    )


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    source: SourceSpec
    columns: ColumnMap = Field(default_factory=ColumnMap)
    covariates: list[str] = Field(default_factory=list)
    frequency: str = Field(description="pandas offset alias: D, W-SUN, MS, H ...")
    season_length: int = Field(ge=1, le=366)
    horizon: int = Field(ge=1, le=1000)
    nonnegative: bool = Field(True, description="Demand-like data: forecasts never go below zero.")
    model_name: str = Field("", description="Registered model name; default: the dataset name.")
    contract: str = Field("", description="Contract file in data_contracts/contracts; default: the name.")
    schedule: str | None = Field(None, description="Cron schedule of the training flow.")
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    spec_path: Path | None = Field(None, exclude=True)

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str) -> str:
        from pandas.tseries.frequencies import to_offset

        try:
            to_offset(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a pandas frequency (e.g. D, W-SUN, MS)") from None
        return value

    @model_validator(mode="after")
    def _defaults(self) -> DatasetSpec:
        self.model_name = self.model_name or self.name
        self.contract = self.contract or self.name
        return self

    def resolve_path(self, relative: str) -> Path:
        base = self.spec_path.parent if self.spec_path else Path.cwd()
        return (base / relative).resolve()


def _format_errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
    )


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path} must hold a YAML mapping, not {type(data).__name__}")
    return data


def load_spec(name_or_path: str | Path, datasets_dir: Path) -> DatasetSpec:
    """A spec by dataset name (``<datasets_dir>/<name>.yaml``) or by file path."""
    candidate = Path(name_or_path)
    path = candidate if candidate.suffix in (".yaml", ".yml") else datasets_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(available_datasets(datasets_dir)) or "none"
        raise SpecError(f"no dataset spec {path}; known datasets in {datasets_dir}: {known}")
    try:
        return DatasetSpec.model_validate({**read_yaml(path), "spec_path": path.resolve()})
    except ValidationError as exc:
        raise SpecError(f"{path}: {_format_errors(exc)}") from None


def available_datasets(datasets_dir: Path) -> list[str]:
    return sorted(p.stem for p in datasets_dir.glob("*.yaml")) if datasets_dir.is_dir() else []
