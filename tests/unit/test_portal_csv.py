"""The portal's CSV download is safe to open in a spreadsheet: a series id that looks like a
formula comes out as text, numbers (negative ones too) stay numbers, and it reads back whole."""

from __future__ import annotations

import csv
import io

from portal.tables import to_csv


def test_formula_looking_text_is_defused_and_numbers_are_kept() -> None:
    rows = [
        {"series_id": '=HYPERLINK("http://evil.example","x")', "ds": "2024-01-01", "yhat": -3.5},
        {"series_id": "@SUM(A1)", "ds": "2024-01-02", "yhat": 2.0},
        {"series_id": 'store, "north"', "ds": "2024-01-03", "yhat": 1.0},
    ]
    read = list(csv.DictReader(io.StringIO(to_csv(rows).decode())))
    assert [r["series_id"] for r in read] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'@SUM(A1)",
        'store, "north"',
    ]
    assert [float(r["yhat"]) for r in read] == [-3.5, 2.0, 1.0]
    assert to_csv([]) == b""
