"""Dataset specs and sources: CSV (plain or gzip) and Parquet load the same long frame, caps hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.guards import ReadLimits
from data_contracts.sources import DataSourceError, limits_for, load_dataset, read_dataset
from data_contracts.spec import DatasetSpec, SpecError, load_spec
from tests.support import REPO

DEMO = REPO / "datasets" / "demo" / "nyc_flights_daily.csv"


def _spec(folder: Path, source: str, extra: str = "") -> DatasetSpec:
    (folder / "s.yaml").write_text(
        f"name: s\nsource: {source}\nfrequency: D\nseason_length: 7\nhorizon: 7\n{extra}"
    )
    return load_spec("s", folder)


def test_csv_gzip_and_parquet_give_the_same_frame(tmp_path: Path) -> None:
    raw = pd.read_csv(DEMO)
    raw.to_csv(tmp_path / "d.csv.gz", index=False, compression="gzip")
    raw.to_parquet(tmp_path / "d.parquet", index=False)
    covariates = "covariates: [temp_mean_f, precip_in]\n"
    plain = load_dataset(_spec(tmp_path, f"{{kind: csv, path: {DEMO}}}", covariates))
    gzipped = load_dataset(_spec(tmp_path, "{kind: csv, path: d.csv.gz}", covariates))
    parquet = load_dataset(_spec(tmp_path, "{kind: parquet, path: d.parquet}", covariates))
    pd.testing.assert_frame_equal(plain, gzipped)
    pd.testing.assert_frame_equal(plain, parquet)
    assert list(plain.columns) == ["series_id", "ds", "y", "temp_mean_f", "precip_in"]
    assert plain["ds"].dtype == "datetime64[ns]" and plain["y"].dtype == float


def test_column_map_renames_source_columns_and_keeps_ids_as_text(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("store,day,sales,other\n007,2024-01-01,3,x\n007,2024-01-02,4,y\n")
    spec = _spec(tmp_path, "{kind: csv, path: d.csv}", "columns: {series_id: store, ds: day, y: sales}\n")
    frame = load_dataset(spec)
    assert list(frame.columns) == ["series_id", "ds", "y"]
    assert frame["series_id"].tolist() == ["007", "007"]  # not the number 7


def test_unparsed_values_come_back_with_their_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("series_id,ds,y\na,2024-01-01,1\na,yesterday,2\na,2024-01-03,many\n")
    rows = read_dataset(_spec(tmp_path, "{kind: csv, path: d.csv}"))
    assert rows.frame.index.tolist() == [2]  # indexed by CSV line
    assert rows.unparsed["_row"].tolist() == [3, 4]
    assert rows.unparsed["_reason"].tolist() == [
        "column 'ds': 'yesterday' is not a date",
        "column 'y': 'many' is not a number",
    ]
    with pytest.raises(
        DataSourceError, match=r"column 'ds' has 1 value\(s\) that are not dates.*\[rule: column type\]"
    ):
        load_dataset(_spec(tmp_path, "{kind: csv, path: d.csv}"))


def test_iso_dates_in_any_form_parse(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(
        "series_id,ds,y\na,2024-01-01,1\na,2024-01-02T00:00:00Z,2\na,2024-01-03 00:00,3\n"
    )
    frame = load_dataset(_spec(tmp_path, "{kind: csv, path: d.csv}"))
    assert frame["ds"].dt.day.tolist() == [1, 2, 3]


def test_parquet_bomb_is_refused_from_its_footer(tmp_path: Path) -> None:
    n = 2_000_000
    pd.DataFrame({"series_id": ["a"] * n, "ds": pd.Timestamp("2024-01-01"), "y": np.zeros(n)}).to_parquet(
        tmp_path / "d.parquet"
    )
    assert (tmp_path / "d.parquet").stat().st_size < 200_000  # compresses to almost nothing
    spec = _spec(tmp_path, "{kind: parquet, path: d.parquet, max_decompressed_bytes: 1MB}")
    with pytest.raises(
        DataSourceError, match=r"expand to [\d,]+ bytes, over the cap.*\[rule: decompressed size cap\]"
    ):
        load_dataset(spec)


def test_caps_come_from_the_spec_else_the_platform() -> None:
    spec = DatasetSpec.model_validate(
        {
            "name": "s",
            "source": {"kind": "csv", "path": "d.csv", "max_bytes": "5MB"},
            "frequency": "D",
            "season_length": 1,
            "horizon": 1,
        }
    )
    limits = limits_for(spec, ReadLimits(max_bytes=1, max_decompressed_bytes=123))
    assert (limits.max_bytes, limits.max_decompressed_bytes, limits.max_columns) == (5_000_000, 123, 1000)
    assert limits_for(spec).max_decompressed_bytes == 1024**3


@pytest.mark.parametrize(
    ("source", "extra", "fragment"),
    [
        ("{kind: csv}", "", "source kind 'csv' needs 'path'"),
        ("{kind: csv, path: d.xlsx}", "", "does not look like a csv file"),
        ("{kind: sql, url: 'sqlite://'}", "", "needs both 'url' and 'table'"),
        ("{kind: csv, path: d.csv, max_bytes: lots}", "", "source.max_bytes"),
        ("{kind: csv, path: d.csv, max_columns: 2}", "", "source.max_columns"),
        ("{kind: csv, path: d.csv}", "schedule: every monday\n", "is not a cron schedule"),
        ("{kind: csv, path: d.csv}", "schedule: '61 * * * *'\n", "Bad minute"),
        ("{kind: ftp, path: d.csv}", "", "source.kind"),
    ],
)
def test_bad_specs_name_the_field(tmp_path: Path, source: str, extra: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=r"s\.yaml") as err:
        _spec(tmp_path, source, extra)
    assert fragment in str(err.value)


def test_schedule_and_contract_path_are_kept(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "{kind: csv, path: d.csv}", "schedule: '0 6 * * 1'\ncontract: rules/mine.yaml\n")
    assert spec.schedule == "0 6 * * 1"
    assert spec.contract_path(Path("/elsewhere")) == (tmp_path / "rules" / "mine.yaml").resolve()
    named = _spec(tmp_path, "{kind: csv, path: d.csv}")
    assert named.contract_path(Path("/contracts")) == Path("/contracts/s.yaml")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"does not exist \[rule: source file\]"):
        load_dataset(_spec(tmp_path, "{kind: csv, path: nowhere.csv}"))


def test_ragged_csv_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("series_id,ds,y\na,2024-01-01,1\na,2024-01-02,2,3,4\n")
    with pytest.raises(DataSourceError) as err:
        load_dataset(_spec(tmp_path, "{kind: csv, path: d.csv}"))
    assert "[rule: CSV format]" in str(err.value) and "\n" not in str(err.value)


def test_corrupt_gzip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.csv.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"not really gzip" * 10)
    with pytest.raises(DataSourceError, match=r"\[rule: (gzip format|header row)\]"):
        load_dataset(_spec(tmp_path, "{kind: csv, path: d.csv.gz}"))


def test_platform_caps_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from astralytiq.settings import Settings

    monkeypatch.setenv("ASTRALYTIQ_SOURCE_MAX_BYTES", "5MB")
    assert int(Settings().source_max_bytes) == 5_000_000
    assert int(Settings().source_max_decompressed_bytes) == 1024**3
    monkeypatch.setenv("ASTRALYTIQ_SOURCE_MAX_BYTES", "a lot")
    with pytest.raises(ValidationError, match="source_max_bytes"):
        Settings()


def test_refused_files_are_not_retried_but_lost_connections_are() -> None:
    from types import SimpleNamespace

    from data_contracts.guards import SourceRefused
    from flows.tasks import _worth_retrying

    def state(error: Exception) -> SimpleNamespace:
        return SimpleNamespace(data=error)

    assert not _worth_retrying(None, None, state(SourceRefused("too big", rule="size cap")))
    assert _worth_retrying(None, None, state(SourceRefused("refused", rule="SQL connection")))
    assert _worth_retrying(None, None, state(OSError("network file system hiccup")))
