"""A data contract: the rules a dataset must meet, read from a YAML file users edit directly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data_contracts.spec import DatasetSpec, SpecError, format_errors, read_yaml_with_lines
from models.frame import DS, SERIES_ID

CONTRACTS_DIR = Path(__file__).parent / "contracts"
# Series ids land in HTML reports, URLs, file names, CSV and logs. By default they are letters
# and digits (any script) with a few separators: no markup or quote characters, no control
# characters, 1-200 long (the API's limit). A contract may set its own pattern, or null for none.
DEFAULT_SERIES_ID_PATTERN = r"^\w[\w .,:;/()&+#@%-]{0,199}\Z"


class ColumnRule(BaseModel):
    """Rules of one column: its type, whether it must exist, its range and missing-value budget."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["string", "number", "datetime"]
    required: bool = True
    min: float | None = None
    max: float | None = None
    max_missing_share: float = Field(
        0.0, ge=0, le=1, description="Share of rows allowed to be empty; 0 means every row needs a value."
    )

    @model_validator(mode="after")
    def _bounds(self) -> ColumnRule:
        if (self.min is not None or self.max is not None) and self.type != "number":
            raise ValueError(f"min/max apply to number columns, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class SeriesRule(BaseModel):
    """Time-series rules checked per series."""

    model_config = ConfigDict(extra="forbid")

    strictly_increasing: bool = Field(
        True, description="Each row's timestamp comes after every earlier row of its series."
    )
    regular_frequency: bool = Field(
        True, description="Timestamps sit on the spec's frequency grid and step one period at a time."
    )
    max_gap_share: float = Field(0.0, ge=0, le=1, description="Share of steps allowed to skip periods.")
    min_history: int = Field(1, ge=1, description="Fewest observations a series may have.")
    id_pattern: str | None = Field(
        DEFAULT_SERIES_ID_PATTERN,
        description="Regular expression every series id must match (Python syntax, searched "
        "from the start); null: any id. The default keeps markup and control characters out.",
    )

    @field_validator("id_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"id_pattern {pattern!r} is not a regular expression: {exc}") from None
        return pattern


class LimitRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_rows: int = Field(5_000_000, ge=1)
    max_series: int = Field(100_000, ge=1)


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str
    description: str = ""
    columns: dict[str, ColumnRule]
    series: SeriesRule = Field(default_factory=SeriesRule)
    limits: LimitRule = Field(default_factory=LimitRule)
    quarantine: bool = Field(
        False,
        description="Set rows that break a row-level rule aside (with the reason) instead of "
        "stopping; the run goes on only if the remaining rows pass.",
    )

    @model_validator(mode="after")
    def _key_columns(self) -> Contract:
        expected = {SERIES_ID: "string", DS: "datetime"}
        for name, kind in expected.items():
            rule = self.columns.get(name)
            if rule is not None and rule.type != kind:
                raise ValueError(f"column {name!r} is the {kind} key of every row; declare it as type {kind}")
        return self


def load_contract(name_or_path: str | Path, contracts_dir: Path = CONTRACTS_DIR) -> Contract:
    """A contract by name (``<contracts_dir>/<name>.yaml``) or by file path."""
    candidate = Path(name_or_path)
    path = candidate if candidate.suffix in (".yaml", ".yml") else contracts_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in contracts_dir.glob("*.yaml"))) or "none"
        raise SpecError(f"no contract {path}; known contracts in {contracts_dir}: {known}")
    data, lines = read_yaml_with_lines(path)
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: {format_errors(exc, lines)}") from None


def load_contract_for(spec: DatasetSpec, contracts_dir: Path = CONTRACTS_DIR) -> Contract:
    """The contract a dataset spec names (a name in ``contracts_dir`` or a path beside the spec)."""
    return load_contract(spec.contract_path(contracts_dir), contracts_dir)
