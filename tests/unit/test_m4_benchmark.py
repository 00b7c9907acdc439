"""The M4 benchmark command on a few series (the full run is the benchmark's job, not a test's)."""

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import m4
from models import metrics

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "m4"


def test_m4_command_scores_selection_against_naive2(tmp_path: Path) -> None:
    out = tmp_path / "m4.json"
    results = m4.main(
        [
            "--train", str(DATA / "Weekly-train.csv"),
            "--test", str(DATA / "Weekly-test.csv"),
            "--horizon", "13",
            "--season-length", "1",
            "--candidates", "naive2,arima,combo_mean",
            "--windows", "1",
            "--max-history", "104",
            "--limit", "4",
            "--jobs", "1",
            "--peer", "none",
            "--out", str(out),
        ]
    )  # fmt: skip
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(results))
    assert saved["naive2"]["owa"] == 1.0
    ours = saved["astralytiq"]
    assert sum(ours["wins"].values()) == 4 and set(ours["wins"]) <= {"naive2", "arima", "combo_mean"}
    expected_owa = metrics.owa(ours["smape"], ours["mase"], saved["naive2"]["smape"], saved["naive2"]["mase"])
    assert ours["owa"] == pytest.approx(expected_owa, abs=1e-3)
    assert ours["series_per_second"] > 0
    assert "AstralytiQ selection" in out.with_suffix(".md").read_text()


def test_m4_reader_drops_padding(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text('"V1","V2","V3","V4"\n"A","1","2","3"\n"B","4","5",\n')
    series = m4.read_m4(csv)
    assert series["A"].tolist() == [1, 2, 3] and np.array_equal(series["B"], [4.0, 5.0])


def test_m4_command_refuses_a_test_file_of_the_wrong_horizon(tmp_path: Path) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text('"V1","V2","V3","V4","V5"\n"A","1","2","3","4"\n')
    test.write_text('"V1","V2"\n"A","5"\n')
    with pytest.raises(SystemExit, match="must hold 3 values"):
        m4.main(["--train", str(train), "--test", str(test), "--horizon", "3", "--season-length", "1"])
