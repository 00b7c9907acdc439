"""A data contract: the rules a dataset must meet, read from a YAML file users edit directly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data_contracts.spec import SpecError, _format_errors, read_yaml

CONTRACTS_DIR = Path(__file__).parent / "contracts"


class ColumnRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["string", "number", "datetime"]
    required: bool = True
    min: float | None = None
    max: float | None = None
    max_missing_share: float = Field(0.0, ge=0, le=1)


class SeriesRule(BaseModel):
    """Time-series rules checked per series."""

    model_config = ConfigDict(extra="forbid")

    strictly_increasing: bool = True
    regular_frequency: bool = True
    max_gap_share: float = Field(0.0, ge=0, le=1, description="Share of steps allowed to skip periods.")
    min_history: int = Field(1, ge=1)


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
    quarantine: bool = Field(False, description="Set failing rows aside instead of stopping.")


def load_contract(name: str, contracts_dir: Path = CONTRACTS_DIR) -> Contract:
    path = contracts_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in contracts_dir.glob("*.yaml"))) or "none"
        raise SpecError(f"no contract {path}; known contracts: {known}")
    try:
        return Contract.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise SpecError(f"{path}: {_format_errors(exc)}") from None
