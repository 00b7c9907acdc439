"""A dataset whose source is a table in the PostgreSQL on this machine, read through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from data_contracts.spec import DatasetSpec, load_spec
from tests.support import REPO
from tests.support.postgres import postgres_database

DEMO = REPO / "datasets" / "demo" / "nyc_flights_daily.csv"


@pytest.fixture(scope="module")
def warehouse() -> Iterator[str]:
    """A uniquely named database holding the demo data as a table in a schema, dropped afterwards."""
    with postgres_database("astralytiq_sql") as database:
        engine = create_engine(database.url)
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE SCHEMA sales"))
            raw = pd.read_csv(DEMO).rename(columns={"series_id": "airport", "ds": "day", "y": "departures"})
            raw["day"] = pd.to_datetime(raw["day"]).dt.date
            raw.assign(note="x").to_sql("departures", engine, schema="sales", index=False)
            bad = raw.copy()
            bad.loc[5, "departures"] = -3
            bad.to_sql("departures_bad", engine, index=False)
            yield database.url
        finally:
            engine.dispose()


def _spec(folder: Path, url: str, table: str, extra: str = "") -> DatasetSpec:
    (folder / "flights_sql.yaml").write_text(
        "name: flights_sql\n"
        f"source: {{kind: sql, url: '{url}', table: {table}{extra}}}\n"
        "columns: {series_id: airport, ds: day, y: departures}\n"
        "covariates: [temp_mean_f, precip_in]\n"
        "frequency: D\nseason_length: 7\nhorizon: 28\ncontract: nyc_flights\n"
    )
    return load_spec("flights_sql", folder)


def test_sql_table_loads_like_the_csv_and_passes_the_contract(warehouse: str, tmp_path: Path) -> None:
    from data_contracts.contract import load_contract_for
    from data_contracts.quarantine import enforce_contract
    from data_contracts.sources import load_dataset, read_dataset

    spec = _spec(tmp_path, warehouse, "departures", ", schema: sales")
    from_sql = load_dataset(spec)
    from_csv = load_dataset(load_spec("nyc_flights", REPO / "datasets"))
    pd.testing.assert_frame_equal(from_sql, from_csv)
    outcome = enforce_contract(read_dataset(spec), load_contract_for(spec), "D", tmp_path / "docs")
    assert outcome.report.success, outcome.report.summary()
    assert len(outcome.kept) == 8760 and (tmp_path / "docs" / "index.html").is_file()


def test_bad_rows_in_the_table_fail_the_contract(warehouse: str, tmp_path: Path) -> None:
    from data_contracts.contract import load_contract_for
    from data_contracts.quarantine import enforce_contract
    from data_contracts.sources import read_dataset

    spec = _spec(tmp_path, warehouse, "departures_bad")
    report = enforce_contract(read_dataset(spec), load_contract_for(spec), "D").report
    assert [f.reason for f in report.failures] == [
        "column 'y': 1 value(s) outside [0.0, 2000.0] or not finite (e.g. -3.0) [rule: value range]"
    ]


@pytest.mark.parametrize(
    ("table", "extra", "fragment"),
    [
        ("nowhere", "", "table 'nowhere' does not exist at the source url [rule: SQL table]"),
        ("departures", "", "table 'departures' does not exist"),  # it lives in schema sales
        ("departures", ", schema: sales, max_decompressed_bytes: 100kB", "holds more than 100,000 bytes"),
        (
            "departures",
            ", schema: sales, max_columns: 4",
            "has 6 columns, over the cap of 4 [rule: column cap]",
        ),
    ],
)
def test_sql_source_refusals_say_why(
    warehouse: str, tmp_path: Path, table: str, extra: str, fragment: str
) -> None:
    from data_contracts.sources import DataSourceError, load_dataset

    with pytest.raises(DataSourceError) as err:
        load_dataset(_spec(tmp_path, warehouse, table, extra))
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_missing_column_in_the_table_is_named(warehouse: str, tmp_path: Path) -> None:
    from data_contracts.sources import DataSourceError, load_dataset

    spec = _spec(tmp_path, warehouse, "departures_bad")
    spec = spec.model_copy(update={"covariates": ["temp_mean_f", "wind"]})
    with pytest.raises(
        DataSourceError, match=r"column 'wind' is missing from the source.*\[rule: required column\]"
    ):
        load_dataset(spec)


def test_unreachable_database_is_a_connection_error(tmp_path: Path) -> None:
    from data_contracts.sources import DataSourceError, load_dataset

    spec = _spec(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:9/none", "t")
    with pytest.raises(
        DataSourceError, match=r"cannot read the SQL source \(OperationalError.*\[rule: SQL connection\]"
    ):
        load_dataset(spec)
