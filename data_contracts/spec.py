"""Dataset specs: one YAML file per dataset names its source, cadence, horizon and contract."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

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
from pydantic.json_schema import SkipJsonSchema

from models import defaults
from models.covariates import CALENDAR_FEATURE_NAMES, CalendarFeature, Covariates

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
MAX_SEASON_LENGTH = 8784  # a year of hourly data (leap year)
_UNITS = {"s": 1, "m": 60, "h": 3600}
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


class CovariateColumn(BaseModel):
    """A source column the models may use, and whether its future values are known at the
    forecast origin (planned prices, promotions) or only observed afterwards (weather actuals)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Column name in the source.")
    future: Literal["known", "unknown"] = Field(
        "unknown",
        description="known: its values for the forecast dates are known in advance, so models use "
        "them at the target date; unknown: only past values, which backtests never let a model see "
        "beyond each origin (the boosted trees use its values at the origin, others ignore it).",
    )


class TrainingSpec(BaseModel):
    """How to train. Unset fields take the engine's one set of defaults (``models/defaults.py``),
    the same that ``benchmarks/m4.py`` runs."""

    model_config = ConfigDict(extra="forbid")

    candidates: list[str] = Field(
        default_factory=lambda: list(defaults.CANDIDATES),
        description="Forecasters to backtest per series; default: the engine's list (models/defaults.py).",
        json_schema_extra={"items": {"enum": [*defaults.FORECASTERS, *defaults.COMBINATIONS]}},
    )
    backtest_windows: int = Field(defaults.BACKTEST_WINDOWS, ge=1, le=20)
    backtest_step: int | None = Field(None, ge=1)
    levels: list[float] = Field(default_factory=lambda: list(defaults.LEVELS))
    time_budget: str | float | None = Field(
        None,
        description="Wall time the training may take, in seconds or with a unit (90s, 10m, 1h); "
        "candidates projected not to fit are dropped and the reason logged. Default: no budget.",
    )
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

    @field_validator("time_budget")
    @classmethod
    def _time_budget(cls, value: str | float | None) -> float | None:
        return None if value is None else parse_duration(value)

    @property
    def time_budget_seconds(self) -> float:
        return float(self.time_budget or 0.0)

    @field_validator("candidates")
    @classmethod
    def _candidates(cls, names: list[str]) -> list[str]:
        known = (*defaults.FORECASTERS, *defaults.COMBINATIONS)
        unknown = [name for name in names if name not in known]
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            raise ValueError(f"unknown candidate(s) {listed}; choose from: {', '.join(sorted(known))}")
        if not names:
            raise ValueError(f"list at least one candidate; choose from: {', '.join(sorted(known))}")
        return names

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
    # A bare name is accepted (older specs) and read as {name, future: unknown}.
    covariates: list[CovariateColumn | Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        description="Numeric source columns the models may use: a name (future unknown) or "
        "{name, future: known|unknown}.",
    )
    calendar: list[CalendarFeature] = Field(
        default_factory=list,
        description="Covariates generated from each date, known for any future date: "
        + ", ".join(CALENDAR_FEATURE_NAMES)
        + ".",
    )
    holidays: str | None = Field(
        None,
        description="Country code of the public holidays to use as known covariates (the "
        "'holidays' package, as Prophet uses it), e.g. US, GB, DE; a subdivision after a dash: US-NY.",
    )
    frequency: str = Field(description="pandas offset alias: D, W-SUN, MS, H ...")
    season_length: int | list[int] = Field(
        description="Observations per seasonal cycle, e.g. 7 for daily data; a list for several "
        "cycles, e.g. [24, 168] for hourly data (the first scales MASE and the seasonal naive)."
    )
    horizon: int = Field(ge=1, le=1000)
    nonnegative: bool = Field(True, description="Demand-like data: forecasts never go below zero.")
    model_name: str = Field("", description="Registered model name; default: the dataset name.")
    contract: str = Field(
        "",
        description="Contract name in data_contracts/contracts, or a .yaml path relative to the spec; "
        "default: the dataset name.",
    )
    schedule: str | None = Field(None, description="Cron schedule of the training flow, e.g. '0 6 * * 1'.")
    forecast_schedule: str | None = Field(
        None,
        description="Cron schedule of the forecast flow (the champion rolled forward to the newest "
        "actuals), e.g. '30 5 * * *'; the monitor flow also runs it after each check.",
    )
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    spec_path: SkipJsonSchema[Path | None] = Field(None, exclude=True)  # where it was read from

    @field_validator("covariates", mode="before")
    @classmethod
    def _covariate_names(cls, value: object) -> object:
        # A bare name keeps older specs valid; its future is unknown, the choice that cannot leak.
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from models.covariates import check_holidays

        return check_holidays(value)

    @model_validator(mode="after")
    def _covariate_columns(self) -> DatasetSpec:
        names = self.covariate_names
        taken = {self.columns.series_id, self.columns.ds, self.columns.y}
        clash = sorted(set(names) & taken)
        if clash:
            raise ValueError(
                f"covariate(s) {clash} are also the series_id, ds or y column; list other columns"
            )
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"covariate(s) {repeated} listed more than once; list each column once")
        return self

    @property
    def covariate_names(self) -> list[str]:
        """The covariate columns read from the source, known and unknown."""
        return [c.name for c in self._covariate_columns_list]

    @property
    def _covariate_columns_list(self) -> list[CovariateColumn]:
        # Always CovariateColumn after validation (``_covariate_names`` turns names into them).
        return [c if isinstance(c, CovariateColumn) else CovariateColumn(name=c) for c in self.covariates]

    @property
    def model_covariates(self) -> Covariates:
        """What the engine is given (``models.covariates``)."""
        return Covariates(
            known=tuple(c.name for c in self._covariate_columns_list if c.future == "known"),
            unknown=tuple(c.name for c in self._covariate_columns_list if c.future == "unknown"),
            calendar=tuple(dict.fromkeys(self.calendar)),
            holidays=self.holidays,
        )

    @field_validator("season_length")
    @classmethod
    def _season_length(cls, value: int | list[int]) -> int | list[int]:
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ValueError("season_length needs at least one whole number, e.g. 7 or [24, 168]")
        for item in values:
            if not 1 <= item <= MAX_SEASON_LENGTH:
                raise ValueError(f"each season length must be between 1 and {MAX_SEASON_LENGTH}, got {item}")
        return value

    @property
    def season_lengths(self) -> tuple[int, ...]:
        """Every declared season length, the primary one first."""
        values = self.season_length if isinstance(self.season_length, list) else [self.season_length]
        return tuple(dict.fromkeys(values))

    @property
    def primary_season_length(self) -> int:
        return self.season_lengths[0]

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str) -> str:
        from pandas.tseries.frequencies import to_offset

        try:
            to_offset(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a pandas frequency (e.g. D, W-SUN, MS)") from None
        return value

    @field_validator("schedule", "forecast_schedule")
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


def parse_duration(value: str | float) -> float:
    """Seconds from 90, "90", "90s", "10m" or "1.5h"; refuses anything else, saying how to write it."""
    text = str(value).strip().lower()
    unit = _UNITS.get(text[-1:], 0)
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise ValueError(f"{value!r} is not a duration; write seconds (600) or 90s, 10m, 1h") from None
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"a time budget must be a positive duration, got {value!r}")
    return seconds


Location = tuple[str | int, ...]


def yaml_lines(text: str) -> dict[Location, int]:
    """The line (1-based) of every key and list item of a YAML document, by its path, so a
    validation error can point at the line of the mistake."""
    lines: dict[Location, int] = {}

    def walk(node: yaml.Node, path: Location) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*path, str(key.value))
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                walk(item, (*path, index))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def _line_of(loc: Location, lines: dict[Location, int]) -> int | None:
    """The line of ``loc``, or of its nearest enclosing key (a missing field: the block it
    belongs in)."""
    # Shortest from the end: pydantic appends the union branch it tried ("int", "list[int]").
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def format_errors(exc: ValidationError, lines: dict[Location, int] | None = None) -> str:
    """Every validation error in one line each: ``line 12: training.candidates: ...``."""
    parts = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(loc, lines or {})
        prefix = f"line {line}: " if line is not None else ""
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{prefix}{where}: {message}")
    return "; ".join(parts)


def read_yaml(path: Path) -> dict:
    data, _ = read_yaml_with_lines(path)
    return data


def read_yaml_with_lines(path: Path) -> tuple[dict, dict[Location, int]]:
    """The mapping in ``path`` and the line of each of its keys."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path} must hold a YAML mapping, not {type(data).__name__}")
    return data, yaml_lines(text)


def load_spec(name_or_path: str | Path, datasets_dir: Path) -> DatasetSpec:
    """A spec by dataset name (``<datasets_dir>/<name>.yaml``) or by file path."""
    candidate = Path(name_or_path)
    path = candidate if candidate.suffix in (".yaml", ".yml") else datasets_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(available_datasets(datasets_dir)) or "none"
        raise SpecError(f"no dataset spec {path}; known datasets in {datasets_dir}: {known}")
    data, lines = read_yaml_with_lines(path)
    try:
        return DatasetSpec.model_validate({**data, "spec_path": path.resolve()})
    except ValidationError as exc:
        raise SpecError(f"{path}: {format_errors(exc, lines)}") from None


def available_datasets(datasets_dir: Path) -> list[str]:
    """The dataset specs in ``datasets_dir`` by name; a contract kept beside its spec is not one."""
    if not datasets_dir.is_dir():
        return []
    return sorted(p.stem for p in datasets_dir.glob("*.yaml") if not is_contract_file(p))


def is_contract_file(path: Path) -> bool:
    """Whether ``path`` holds a data contract (it names a ``dataset`` and its ``columns``, and no
    ``source``) rather than a dataset spec. A file that cannot be read is not called a contract:
    listing it as a broken spec shows the reason."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "dataset" in data and "columns" in data and "source" not in data
