"""Dataset specs and data contracts: good data passes, each kind of bad data says why."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.contract import Contract, load_contract
from data_contracts.sources import DataSourceError, load_dataset
from data_contracts.spec import SpecError, load_spec
from data_contracts.validation import run_contract
from tests.support import REPO

DATASETS = REPO / "datasets"


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return load_dataset(load_spec("nyc_flights", DATASETS))


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract("nyc_flights")


def test_demo_dataset_is_real_and_long(demo: pd.DataFrame) -> None:
    assert demo["series_id"].nunique() >= 20
    assert demo["ds"].min() == pd.Timestamp("2013-01-01") and demo["ds"].max() == pd.Timestamp("2013-12-31")
    # Flights have a weekly rhythm: Saturdays are the quietest day of the week.
    by_weekday = demo.groupby(demo["ds"].dt.dayofweek)["y"].mean()
    assert by_weekday.idxmin() == 5


def test_demo_passes_its_contract(demo: pd.DataFrame, contract: Contract, tmp_path: Path) -> None:
    report = run_contract(demo, contract, "D", tmp_path / "docs")
    assert report.success, report.summary()
    assert (tmp_path / "docs" / "index.html").is_file()


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (
            lambda df: df.assign(y=df["y"].where(df.index != 3, -5.0)),
            "column 'y': 1 value(s) outside [0.0, 2000.0]",
        ),
        (lambda df: df.assign(y=df["y"].where(df.index != 3, np.inf)), "column 'y': 1 value(s) outside"),
        (lambda df: df.assign(y=df["y"].where(df.index != 3, np.nan)), "column 'y': 1 missing value(s)"),
        (lambda df: pd.concat([df, df.iloc[[10]]], ignore_index=True), "repeat a (series_id, ds) pair"),
        (lambda df: df.drop(index=50).reset_index(drop=True), "of their 'D' steps (the gap budget)"),
        (lambda df: df.iloc[::-1].reset_index(drop=True), "not after the previous row"),
        (
            lambda df: df.drop(columns=["temp_mean_f"]),
            "column 'temp_mean_f': required by the contract but missing",
        ),
        (
            lambda df: df[~((df["series_id"] == "ATL") & (df["ds"] > "2013-02-01"))],
            "shorter than 90 observations",
        ),
    ],
    ids=[
        "negative",
        "infinite",
        "missing",
        "duplicate",
        "gap",
        "unsorted",
        "missing-column",
        "short-history",
    ],
)
def test_bad_data_is_refused_with_reason(
    demo: pd.DataFrame, contract: Contract, corrupt, message: str
) -> None:  # type: ignore[no-untyped-def]
    report = run_contract(corrupt(demo.copy()), contract, "D")
    assert not report.success
    assert any(message in f.message for f in report.failures), report.summary()


def test_unknown_dataset_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"known datasets in .*: nyc_flights"):
        load_spec("nope", DATASETS)


def test_malformed_spec_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nsource: {kind: csv, path: x.csv}\nfrequency: fortnightly\nseason_length: 0\nhorizon: 7\n"
    )
    with pytest.raises(SpecError) as err:
        load_spec("bad", tmp_path)
    assert "frequency" in str(err.value) and "season_length" in str(err.value)


def test_text_in_numeric_column_names_the_row(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("series_id,ds,y\na,2024-01-01,1\na,2024-01-02,lots\n")
    (tmp_path / "t.yaml").write_text(
        "name: t\nsource: {kind: csv, path: data.csv}\nfrequency: D\nseason_length: 1\nhorizon: 1\n"
    )
    with pytest.raises(
        DataSourceError, match=r"column 'y' has 1 non-numeric value\(s\), e.g. 'lots' on row 3"
    ):
        load_dataset(load_spec("t", tmp_path))


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_bytes(b"series_id,ds,y\n\xff\xfe,2024-01-01,1\n")
    (tmp_path / "t.yaml").write_text(
        "name: t\nsource: {kind: csv, path: data.csv}\nfrequency: D\nseason_length: 1\nhorizon: 1\n"
    )
    with pytest.raises(DataSourceError, match="not UTF-8"):
        load_dataset(load_spec("t", tmp_path))


def test_every_rule_has_its_own_name_and_says_what_it_expects(contract: Contract) -> None:
    from data_contracts.rules import ColumnRule, SeriesRule, TableRule

    kinds = [*TableRule.table, *ColumnRule.per_column, *SeriesRule.per_series]
    names = [kind.name for kind in kinds]
    assert len(names) == len(set(names)) >= 11, names
    frame = pd.DataFrame({"series_id": ["a"], "ds": pd.to_datetime(["2024-01-01"]), "y": [1.0]})
    from data_contracts.rules import rules_for

    for rule in rules_for(contract, frame, "D"):
        assert rule.expects and rule.expectation() is not None, rule.name


def test_a_new_rule_is_one_class(contract: Contract, tmp_path: Path) -> None:
    """A rule defined elsewhere joins every check, with its own explanation and row-level flag."""
    from typing import Any

    from data_contracts.quarantine import enforce_contract
    from data_contracts.rules import ColumnRule, Failure
    from data_contracts.sources import SourceRows

    class ShortText(ColumnRule):
        name = "short text"

        @classmethod
        def applies(cls, spec: Any, present: bool) -> bool:
            return present and spec.type == "string"

        @property
        def row_level(self) -> bool:
            return True

        def expectation(self) -> Any:
            import great_expectations as gx

            return gx.expectations.ExpectColumnValueLengthsToBeBetween(column=self.column, max_value=3)

        @property
        def expects(self) -> str:
            return "at most 3 characters"

        def explain(self, failure: Failure) -> str:
            return (
                f"column {self.column!r}: {failure.count} value(s) longer than 3 characters{failure.example}"
            )

    try:
        frame = pd.DataFrame(
            {
                "series_id": ["ATL", "ATL", "TOOLONG"],
                "ds": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"]),
                "y": [1.0, 2.0, 3.0],
            }
        )
        small = Contract.model_validate(
            {
                "dataset": "short",
                "columns": {
                    "series_id": {"type": "string"},
                    "ds": {"type": "datetime"},
                    "y": {"type": "number"},
                },
                "quarantine": True,
            }
        )
        outcome = enforce_contract(SourceRows(frame, pd.DataFrame()), small, "D")
        report = outcome.report
        assert report.success  # the one bad row was set aside, the rest pass
        assert list(outcome.quarantined["series_id"]) == ["TOOLONG"]
        assert report.quarantine_counts == {"short text on 'series_id'": 1}
        strict = run_contract(frame, small.model_copy(update={"quarantine": False}), "D")
        (failed,) = strict.failures
        assert failed.rule == "short text" and failed.expectation == "at most 3 characters"
        assert failed.message == "column 'series_id': 1 value(s) longer than 3 characters (e.g. TOOLONG)"
    finally:
        ColumnRule.per_column.remove(ShortText)


HOSTILE_ID = "</script><script>alert(document.domain)</script>"


def _with_series(demo: pd.DataFrame, old: str, new: str) -> pd.DataFrame:
    return demo.assign(series_id=demo["series_id"].where(demo["series_id"] != old, new))


def test_series_ids_with_markup_are_refused_by_default(demo: pd.DataFrame, contract: Contract) -> None:
    """Series ids reach HTML reports, URLs and file names: by default a contract keeps markup,
    quotes and control characters out of them, and says which rule to change to allow more."""
    assert contract.series.id_pattern is not None  # nyc_flights sets none: the default applies
    for bad in (HOSTILE_ID, 'ATL"', "ATL\n", " ATL", "x" * 201):
        report = run_contract(_with_series(demo, "ATL", bad), contract, "D")
        assert not report.success, bad
        failed = {f.rule for f in report.failures}
        assert failed == {"series id characters"}, (bad, report.summary())
        assert "set series.id_pattern" in report.failures[0].message
    for fine in ("München", "W123@-52w", "AT&T 2/3", "store 12 (east)"):
        assert run_contract(_with_series(demo, "ATL", fine), contract, "D").success, fine


def test_a_contract_may_set_its_own_id_pattern_or_none(demo: pd.DataFrame, contract: Contract) -> None:
    hostile = _with_series(demo, "ATL", HOSTILE_ID)
    anything = contract.model_copy(update={"series": contract.series.model_copy(update={"id_pattern": None})})
    assert run_contract(hostile, anything, "D").success
    upper = contract.model_copy(
        update={"series": contract.series.model_copy(update={"id_pattern": r"^[A-Z]{3}\Z"})}
    )
    assert run_contract(demo, upper, "D").success
    assert not run_contract(_with_series(demo, "ATL", "atl"), upper, "D").success
    with pytest.raises(ValueError, match="is not a regular expression"):
        Contract.model_validate({**contract.model_dump(), "series": {"id_pattern": "(["}})


def _daily(days: list[int]) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame({"series_id": "a", "ds": [start + pd.Timedelta(days=d) for d in days], "y": 1.0})


def _gap_contract(share: float) -> Contract:
    return Contract.model_validate(
        {
            "dataset": "gaps",
            "columns": {"series_id": {"type": "string"}, "ds": {"type": "datetime"}, "y": {"type": "number"}},
            "series": {"max_gap_share": share},
        }
    )


def test_gap_budget_counts_missing_steps_not_breaks() -> None:
    # 400 daily points with one 20-day hole: the timeline spans 420 days, 20 of them (4.8%) missing.
    holed = _daily([*range(200), *range(220, 420)])
    report = run_contract(holed, _gap_contract(0.01), "D")
    assert not report.success
    [failure] = report.failures
    assert failure.rule == "regular frequency" and failure.unexpected == 400
    assert "miss more than 1.0% of their 'D' steps" in failure.message
    # The same hole is within a 5% budget, and three missing days of 400 are within 1%.
    assert run_contract(holed, _gap_contract(0.05), "D").success
    assert run_contract(
        _daily([d for d in range(403) if d not in (10, 100, 300)]), _gap_contract(0.01), "D"
    ).success


def test_gap_budget_is_per_series() -> None:
    # A long clean series does not dilute a short one with holes.
    clean = _daily(list(range(1000)))
    holed = _daily([0, 1, 5, 6, 7, 8, 9]).assign(series_id="b")
    report = run_contract(pd.concat([clean, holed], ignore_index=True), _gap_contract(0.1), "D")
    assert [(f.rule, f.unexpected) for f in report.failures] == [("regular frequency", 7)]


def test_a_typo_in_a_candidate_is_refused_when_the_spec_is_read(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "name: t\nsource: {kind: csv, path: data.csv}\nfrequency: D\nseason_length: 7\nhorizon: 7\n"
        "training:\n  candidates: [ets, thetaa]\n"
    )
    with pytest.raises(SpecError) as err:
        load_spec("t", tmp_path)
    message = str(err.value)
    assert "line 7: training.candidates" in message and "'thetaa'" in message
    assert "choose from: arima, combo_mean, combo_median, ets, gbm, mstl, naive, naive2" in message


def test_spec_candidate_names_are_the_engines() -> None:
    from models import defaults, zoo

    assert set(defaults.FORECASTERS) == set(zoo.CANDIDATES)
    assert set(defaults.CANDIDATES) <= {*defaults.FORECASTERS, *defaults.COMBINATIONS}


def test_load_errors_point_at_the_line_of_the_mistake(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "name: t\nsource: {kind: csv, path: data.csv}\nfrequency: D\nseason_length: [7, 0]\n"
        "horizon: 7\nmonitoring:\n  drift_treshold: 0.3\n"
    )
    with pytest.raises(SpecError) as err:
        load_spec("t", tmp_path)
    assert "line 4: season_length" in str(err.value)
    assert "line 7: monitoring.drift_treshold: Extra inputs are not permitted" in str(err.value)
    (tmp_path / "c.yaml").write_text(
        "dataset: c\ncolumns:\n  series_id: {type: string}\n  y: {type: number, min: 5, max: 1}\n"
    )
    with pytest.raises(SpecError, match=r"line 4: columns\.y: min 5\.0 is above max 1\.0"):
        load_contract(tmp_path / "c.yaml")
