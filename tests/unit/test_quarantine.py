"""Quarantine mode: rows that break row-level rules are set aside with the reason, the rest is
checked again, and the run goes on only if what is left passes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.contract import Contract, load_contract
from data_contracts.quarantine import enforce_contract
from data_contracts.sources import read_dataset
from data_contracts.spec import DatasetSpec, load_spec
from tests.support import REPO

BAD = REPO / "tests" / "data" / "bad"


def _dataset(folder: Path, lines: list[str]) -> DatasetSpec:
    (folder / "d.csv").write_text("series_id,ds,y\n" + "\n".join(lines) + "\n")
    (folder / "s.yaml").write_text(
        "name: s\nsource: {kind: csv, path: d.csv}\nfrequency: D\nseason_length: 7\nhorizon: 7\n"
    )
    return load_spec("s", folder)


def _contract(**series: object) -> Contract:
    contract = load_contract(BAD / "contract.yaml")
    return contract.model_copy(
        update={"quarantine": True, "series": contract.series.model_copy(update=series)}
    )


GOOD = [f"{sid},2024-01-{d:02d},{d}" for sid in ("a", "b") for d in range(1, 11)]


def test_bad_rows_are_set_aside_with_their_line_and_reason(tmp_path: Path) -> None:
    lines = list(GOOD)
    lines[2] = "a,2024-01-03,-4"  # below the contract's min of 0   (CSV line 4)
    lines[4] = "a,2024-01-05,lots"  # text in a number column      (line 6)
    lines.insert(7, "a,2024-01-07,7")  # repeats the row before it (line 9)
    lines.insert(15, "b,2024-01-04 12:00,3")  # off the daily grid  (line 17)
    spec = _dataset(tmp_path, lines)
    contract = _contract(max_gap_share=0.2)  # dropping rows leaves gaps; allow a few
    outcome = enforce_contract(
        read_dataset(spec), contract, "D", tmp_path / "docs", tmp_path / "quarantine" / "q.csv"
    )
    report = outcome.report
    assert report.success, report.summary()
    assert report.quarantined == 4 and len(outcome.kept) == len(lines) - 4
    assert not (outcome.kept["y"] < 0).any() and outcome.kept.index.tolist() == list(range(len(outcome.kept)))
    kept_file = pd.read_csv(tmp_path / "quarantine" / "q.csv")
    assert kept_file["_row"].tolist() == [4, 6, 9, 17]
    assert kept_file["_rule"].tolist() == [
        "value range",
        "column type",
        "strictly increasing timestamps",
        "frequency grid",
    ]
    reasons = kept_file["_reason"].tolist()
    assert reasons[0] == "column 'y': -4.0 breaks value range (finite values in [0.0, inf])"
    assert reasons[1] == "column 'y': 'lots' is not a number"
    assert "breaks strictly increasing timestamps" in reasons[2]
    assert "breaks frequency grid (timestamps on the 'D' grid)" in reasons[3]
    assert "4 row(s) set aside in quarantine" in report.summary()
    # The report beside the Data Docs says the same, and both validations are in the docs.
    saved = json.loads((tmp_path / "docs" / "report.json").read_text())
    assert saved["quarantined"] == 4 and saved["success"] is True
    assert saved["quarantine_counts"]["value range on 'y'"] == 1
    assert (tmp_path / "docs" / "quarantine.csv").read_text() == (
        tmp_path / "quarantine" / "q.csv"
    ).read_text()
    pages = list((tmp_path / "docs" / "validations").rglob("*.html"))
    assert {p.parent.parent.name for p in pages} == {"incoming", "after quarantine"}


def test_run_stops_when_what_is_left_fails(tmp_path: Path) -> None:
    # Series b loses days 4..10 to quarantine: three days are left, under the minimum of five.
    lines = [line for line in GOOD if line.startswith("a")]
    lines += [f"b,2024-01-{d:02d},{d if d < 4 else -1}" for d in range(1, 11)]
    spec = _dataset(tmp_path, lines)
    outcome = enforce_contract(read_dataset(spec), _contract(), "D", tmp_path / "docs", tmp_path / "q.csv")
    assert not outcome.report.success
    assert outcome.report.quarantined == 7
    assert [(f.rule, f.column) for f in outcome.report.failures] == [("minimum history", "series_id")]
    assert (tmp_path / "q.csv").is_file()  # what was set aside is kept even when the run stops


def test_quarantine_that_leaves_gaps_fails_a_strict_gap_budget(tmp_path: Path) -> None:
    lines = list(GOOD)
    lines[4] = "a,2024-01-05,-1"
    outcome = enforce_contract(read_dataset(_dataset(tmp_path, lines)), _contract(max_gap_share=0.0), "D")
    assert not outcome.report.success
    assert [(f.rule, f.column) for f in outcome.report.failures] == [("regular frequency", "ds")]
    assert outcome.report.quarantined == 1


def test_strict_mode_refuses_and_sets_nothing_aside(tmp_path: Path) -> None:
    lines = list(GOOD)
    lines[2] = "a,2024-01-03,-4"
    lines[4] = "a,2024-01-05,lots"
    contract = load_contract(BAD / "contract.yaml")
    outcome = enforce_contract(
        read_dataset(_dataset(tmp_path, lines)), contract, "D", None, tmp_path / "q.csv"
    )
    assert not outcome.report.success and outcome.quarantined.empty
    assert not (tmp_path / "q.csv").exists()
    failed = [(f.rule, f.column) for f in outcome.report.failures]
    # The type failure comes first; the row it drops also shows as a gap further down.
    assert failed[:2] == [("column type", "y"), ("value range", "y")]
    typed = outcome.report.failures[0]
    assert typed.reason == "column 'y': 1 value(s) are not numbers, e.g. 'lots' on row 6 [rule: column type]"


@pytest.mark.parametrize(
    ("freq", "dates", "on_grid"),
    [
        ("W-SUN", ["2024-01-07", "2024-01-14", "2024-01-21"], True),
        ("W-SUN", ["2024-01-07", "2024-01-15", "2024-01-21"], False),  # a Monday
        ("MS", ["2024-01-01", "2024-02-01", "2024-03-01"], True),
        ("MS", ["2024-01-01", "2024-02-15", "2024-03-01"], False),
        ("h", ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00"], True),
        ("h", ["2024-01-01 00:00", "2024-01-01 01:30", "2024-01-01 02:00"], False),
    ],
)
def test_frequency_grid(freq: str, dates: list[str], on_grid: bool) -> None:
    from data_contracts.rules import on_grid as grid

    assert bool(grid(pd.Series(pd.to_datetime(dates)), freq).all()) is on_grid


def test_rows_whose_series_id_breaks_the_id_pattern_are_set_aside(tmp_path: Path) -> None:
    lines = [*GOOD, *(f"<b>x</b>,2024-01-{d:02d},{d}" for d in range(1, 11))]
    spec = _dataset(tmp_path, lines)
    outcome = enforce_contract(read_dataset(spec), _contract(), "D", tmp_path / "docs", tmp_path / "q.csv")
    assert outcome.report.success, outcome.report.summary()
    assert outcome.report.quarantined == 10 and set(outcome.kept["series_id"]) == {"a", "b"}
    assert set(pd.read_csv(tmp_path / "q.csv")["_rule"]) == {"series id characters"}
