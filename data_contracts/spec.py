"""Dataset specs: one YAML file per dataset names its source, cadence, horizon and contract."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
FILE_SUFFIXES = {"csv": (".csv", ".csv.gz", ".txt", ".txt.gz"), "parquet": (".parquet", ".pq")}


class SpecError(ValueError):
    """A dataset spec or contract file is missing or malformed; the message says how to fix it."""


class SourceSpec(BaseModel):
    """Where the rows come from, and the caps that keep a bad file from exhausting memory."""

    kind: Literal["csv", "parquet", "sql"]
    path: str | None = Field(
        None, description="File path, relative to the spec file; a .csv.gz is read through gzip."
    )
    url: str | None = Field(None, description="SQLAlchemy URL, for kind: sql.")
    table: str | None = Field(None, description="Table name, for kind: sql.")
    schema_name: str | None = Field(None, alias="schema", description="Database schema of the table.")
    # Caps that protect the machine: checked before the data is read into memory. Unset caps
    # take the platform defaults (ASTRALYTIQ_SOURCE_MAX_BYTES, ..._MAX_DECOMPRESSED_BYTES).
    max_bytes: ByteSize | None = Field(None, description="Largest file on disk, e.g. 200MB.")
    max_decompressed_bytes: ByteSize | None = Field(
        None, description="Most bytes read after decompression (CSV) or held in memory (Parquet, SQL)."
    )
    max_columns: int = Field(1000, ge=3, le=100_000, description="Most columns the source may have.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _complete(self) -> SourceSpec:
        if self.kind in ("csv", "parquet"):
            if not self.path:
                raise ValueError(f"source kind {self.kind!r} needs 'path'")
            if not self.path.lower().endswith(FILE_SUFFIXES[self.kind]):
                raise ValueError(
                    f"path {self.path!r} does not look like a {self.kind} file; "
                    f"expected one of {', '.join(FILE_SUFFIXES[self.kind])}"
                )
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
    promotion_margin: float = Field(
        0.01,
        ge=0,
        lt=1,
        description="How much better (relative backtest MASE on the same windows) a new version "
        "must be than the champion to replace it; otherwise it is registered as challenger.",
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
    contract: str = Field(
        "",
        description="Contract name in data_contracts/contracts, or a .yaml path relative to the spec; "
        "default: the dataset name.",
    )
    schedule: str | None = Field(None, description="Cron schedule of the training flow, e.g. '0 6 * * 1'.")
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

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from datetime import datetime

        from cronsim import CronSim, CronSimError

        try:
            CronSim(value, datetime(2000, 1, 1))
        except CronSimError as exc:
            raise ValueError(
                f"{value!r} is not a cron schedule ({exc}); use five fields, "
                "minute hour day-of-month month day-of-week, e.g. '0 6 * * 1'"
            ) from None
        return value

    @model_validator(mode="after")
    def _defaults(self) -> DatasetSpec:
        self.model_name = self.model_name or self.name
        self.contract = self.contract or self.name
        return self

    def resolve_path(self, relative: str) -> Path:
        base = self.spec_path.parent if self.spec_path else Path.cwd()
        return (base / relative).resolve()

    def contract_path(self, contracts_dir: Path) -> Path:
        """The contract file: a path relative to the spec, or a name in ``contracts_dir``."""
        if self.contract.endswith((".yaml", ".yml")):
            return self.resolve_path(self.contract)
        return contracts_dir / f"{self.contract}.yaml"


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
