"""simulate-drift's data step: the newest actuals shifted in a copy, the committed data untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.sources import load_dataset
from data_contracts.spec import load_spec
from monitoring.simulate import write_simulated_dataset
from tests.support import REPO

DATASETS = REPO / "datasets"


def test_shifted_copy_scales_only_the_actuals_after_the_cutoff(tmp_path: Path) -> None:
    spec = load_spec("nyc_flights", DATASETS)
    committed = spec.resolve_path(spec.source.path or "")
    digest = hashlib.sha256(committed.read_bytes()).hexdigest()
    simulated = write_simulated_dataset(spec, tmp_path, 1.5)
    assert hashlib.sha256(committed.read_bytes()).hexdigest() == digest
    assert simulated.spec_path.parent == tmp_path / "simulated" / "nyc_flights"
    assert (str(simulated.first_shifted), str(simulated.last_shifted)) == ("2013-12-04", "2013-12-31")
    assert simulated.shifted_rows == 24 * 28

    copy = load_spec(simulated.spec_path, DATASETS)
    # Its own model: the simulation never records into the real model's health history.
    assert (copy.name, copy.model_name, copy.contract) == (
        "nyc_flights",
        "nyc_flights_simulated",
        "nyc_flights",
    )
    assert copy.training.until is None  # a retrain from the copy learns the shifted actuals
    original, shifted = load_dataset(spec), load_dataset(copy)
    merged = original.merge(shifted, on=["series_id", "ds"], suffixes=("", "_shifted"))
    assert len(merged) == len(original) == len(shifted)
    after = merged["ds"] > pd.Timestamp("2013-12-03")
    assert (merged.loc[~after, "y"] == merged.loc[~after, "y_shifted"]).all()
    assert merged.loc[after, "y_shifted"].to_numpy() == pytest.approx(1.5 * merged.loc[after, "y"], abs=0.5)
    assert merged.loc[after, "temp_mean_f_shifted"].to_numpy() == pytest.approx(
        1.5 * merged.loc[after, "temp_mean_f"]
    )


def test_a_factor_of_one_or_a_sql_source_is_refused(tmp_path: Path) -> None:
    spec = load_spec("nyc_flights", DATASETS)
    with pytest.raises(ValueError, match="factor must be positive and not 1"):
        write_simulated_dataset(spec, tmp_path, 1.0)
    sql = spec.model_copy(update={"source": spec.source.model_copy(update={"kind": "sql", "table": "t"})})
    with pytest.raises(ValueError, match="copies file sources"):
        write_simulated_dataset(sql, tmp_path, 2.0)
