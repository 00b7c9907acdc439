"""`astralytiq validate`: a table of every rule, exit 0 when the data passes and 1 when it does not."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import REPO

BAD = REPO / "tests" / "data" / "bad"


@pytest.fixture
def datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from astralytiq.settings import get_settings

    folder = tmp_path / "datasets"
    folder.mkdir()
    for name in ("good.csv", "nan_and_inf.csv", "non_utf8.csv"):
        shutil.copy(BAD / name, folder / name)
    (folder / "rules").mkdir()
    shutil.copy(BAD / "contract.yaml", folder / "rules" / "contract.yaml")
    spec = (BAD / "spec.yaml").read_text().replace("contract: contract.yaml", "contract: rules/contract.yaml")
    (folder / "good.yaml").write_text(spec.replace("name: bad_input", "name: good"))
    (folder / "broken.yaml").write_text(
        spec.replace("name: bad_input", "name: broken").replace("good.csv", "nan_and_inf.csv")
    )
    (folder / "garbled.yaml").write_text(
        spec.replace("name: bad_input", "name: garbled").replace("good.csv", "non_utf8.csv")
    )
    monkeypatch.setenv("ASTRALYTIQ_DATASETS_DIR", str(folder))
    monkeypatch.setenv("ASTRALYTIQ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def _validate(*args: str):  # type: ignore[no-untyped-def]
    from cli.app import app

    return CliRunner().invoke(app, ["validate", *args])


def test_passing_data_prints_every_rule_and_exits_0(datasets: Path, tmp_path: Path) -> None:
    result = _validate("good")
    assert result.exit_code == 0, result.output
    for rule in (
        "column type",
        "value range",
        "strictly increasing timestamps",
        "series id characters",
        "minimum history",
    ):
        assert rule in result.output
    assert "contract 'bad_input' passed: 15 rules on 20 rows, 2 series" in result.output
    report = tmp_path / "data" / "reports" / "contracts" / "good"
    assert (report / "index.html").is_file() and (report / "report.json").is_file()


def test_failing_data_says_why_and_exits_1(datasets: Path, tmp_path: Path) -> None:
    result = _validate("broken", "--report-dir", str(tmp_path / "docs"))
    assert result.exit_code == 1, result.output
    assert "FAIL column 'y': 2 value(s) outside [0.0, inf] or not finite" in result.output
    assert "FAIL column 'y': 1 missing value(s), the contract allows none" in result.output
    assert "failed 2 of 15 rules" in result.output
    assert (tmp_path / "docs" / "report.json").is_file()


def test_quarantine_flag_sets_rows_aside(datasets: Path, tmp_path: Path) -> None:
    result = _validate("broken", "--quarantine")
    # Three of the nine rows are set aside, and the gaps they leave break the daily rhythm.
    assert "3 row(s) set aside:" in result.output
    assert result.exit_code == 1 and "regular frequency" in result.output
    kept = list((tmp_path / "data" / "reports" / "quarantine" / "broken").glob("validate-*.csv"))
    assert len(kept) == 1 and kept[0].read_text().count("\n") == 4


def test_refused_source_is_one_line_and_exits_1(datasets: Path) -> None:
    result = _validate("garbled")
    assert result.exit_code == 1
    assert (
        "non_utf8.csv line 4, column 'series_id'" in result.output and "[rule: UTF-8 text]" in result.output
    )


def test_unknown_dataset_lists_the_known_ones(datasets: Path) -> None:
    result = _validate("nope")
    assert result.exit_code == 1
    assert "known datasets in" in result.output and "broken, garbled, good" in result.output


def test_help_explains_the_command() -> None:
    result = _validate("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # unwrap rich's lines
    assert "Exits 0 when the data passes, 1 when the contract fails or the source is refused" in text
    assert "--quarantine" in result.output and "--report-dir" in result.output


def test_datasets_list_skips_a_contract_kept_beside_its_spec(datasets: Path) -> None:
    from cli.app import app

    shutil.copy(BAD / "contract.yaml", datasets / "good_contract.yaml")
    (datasets / "typo.yaml").write_text("name: typo\nsource: {kind: csv, path: good.csv}\nfrequency: D\n")
    result = CliRunner().invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.output.splitlines()]
    assert names == ["broken", "garbled", "good", "typo"]
    assert "good_contract" not in result.output
    # A spec with a mistake is still listed, with the reason.
    assert "typo                 INVALID:" in result.output and "season_length" in result.output
