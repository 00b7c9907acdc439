"""The long and CSV forecast tables (serving.tabular) on a small bundle: formula-looking series
ids are defused in CSV only, history rows carry y and no forecast, Accept is negotiated by
quality."""

from __future__ import annotations

import csv
import dataclasses
import io
import time

import pytest

from serving.model_store import ServedModel
from serving.tabular import defuse, long_csv, long_rows, preferred_media_type
from tests.support.factories import bundle

HOSTILE = ["=1+1", "+cmd|' /C calc'!A0", "-2", "@SUM(A1)", "\tx", 'q"u,o\nte', "ok"]


def served(ids: list[str]) -> ServedModel:
    made = bundle("tabular", series=len(ids))
    series = {s: dataclasses.replace(e, series_id=s) for s, e in zip(ids, made.series.values(), strict=True)}
    return ServedModel("tabular", "7", "run", dataclasses.replace(made, series=series), time.time(), 0.0)


def test_csv_cells_never_start_a_formula_and_parse_back_to_the_ids() -> None:
    text = long_csv(served(HOSTILE), HOSTILE, 2, [80.0], False).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["series_id"] for r in rows[::2]] == [defuse(s) for s in HOSTILE]
    for row in rows:
        assert all(not cell.startswith(("=", "+", "-", "@", "\t")) for cell in row.values() if cell)
        assert row["model_version"] == "7" and row["origin"] == "2024-01-01"
    assert defuse("ok") == "ok" and defuse("=x") == "'=x"


def test_long_rows_have_history_first_and_one_record_per_series_and_step() -> None:
    model = served(["a", "b"])
    rows = long_rows(model, ["b", "a"], 3, [50.0, 95.0], True)
    history = [r for r in rows if r["y"] is not None]
    assert len(rows) == 2 * (28 + 3) and len(history) == 2 * 28
    assert [r["series_id"] for r in rows[:31]] == ["b"] * 31
    first_forecast = rows[28]
    assert first_forecast["ds"] == "2024-01-01" and first_forecast["y"] is None
    assert (
        first_forecast["lo_95"]
        <= first_forecast["lo_50"]
        <= first_forecast["yhat"]
        <= first_forecast["hi_50"]
    )
    assert all(r["yhat"] is None and r["lo_50"] is None for r in history)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv; charset=utf-8", "text/csv"),
        ("text/csv;q=0.9, application/json", "application/json"),
        ("application/json;q=0.5, text/csv", "text/csv"),
        ("text/*, */*;q=0.1", "text/csv"),
        ("text/csv, */*", "text/csv"),
        ("application/xml", None),
        ("text/csv;q=0", None),
        ("text/csv;q=abc", None),
    ],
)
def test_accept_negotiation(accept: str | None, expected: str | None) -> None:
    assert preferred_media_type(accept) == expected
