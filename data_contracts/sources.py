"""Load a dataset's rows from its source (CSV, Parquet or a SQL table) into the long format."""

from __future__ import annotations

import pandas as pd

from data_contracts.spec import DatasetSpec
from models.frame import DS, SERIES_ID, Y

DEFAULT_MAX_BYTES = 200 * 1024 * 1024


class DataSourceError(ValueError):
    """The source cannot be read as this dataset; the message names the file and the problem."""


def _read_file(spec: DatasetSpec, max_bytes: int) -> pd.DataFrame:
    assert spec.source.path is not None
    path = spec.resolve_path(spec.source.path)
    if not path.is_file():
        raise DataSourceError(f"dataset {spec.name!r}: source file {path} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise DataSourceError(
            f"dataset {spec.name!r}: {path} is {size:,} bytes, over the {max_bytes:,}-byte cap"
        )
    wanted = [spec.columns.series_id, spec.columns.ds, spec.columns.y, *spec.covariates]
    try:
        if spec.source.kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, encoding="utf-8", usecols=lambda c: c in wanted)
    except UnicodeDecodeError as exc:
        raise DataSourceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except pd.errors.EmptyDataError:
        raise DataSourceError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, OSError, ValueError) as exc:
        raise DataSourceError(f"{path}: cannot be parsed ({exc})") from None


def _read_sql(spec: DatasetSpec) -> pd.DataFrame:
    from sqlalchemy import MetaData, Table, create_engine, select
    from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

    assert spec.source.url and spec.source.table
    engine = create_engine(spec.source.url)
    try:
        # Reflect the table rather than format SQL text, so the name can never inject SQL.
        table = Table(spec.source.table, MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            return pd.read_sql(select(table), connection)
    except NoSuchTableError:
        raise DataSourceError(f"dataset {spec.name!r}: table {spec.source.table!r} does not exist") from None
    except SQLAlchemyError as exc:
        raise DataSourceError(
            f"dataset {spec.name!r}: cannot read the SQL source ({exc.__class__.__name__}: {exc})"
        ) from None
    finally:
        engine.dispose()


def load_dataset(spec: DatasetSpec, max_bytes: int = DEFAULT_MAX_BYTES) -> pd.DataFrame:
    """The dataset in long format: ``series_id`` (str), ``ds`` (datetime), ``y`` (float), covariates."""
    raw = _read_sql(spec) if spec.source.kind == "sql" else _read_file(spec, max_bytes)
    mapping = {spec.columns.series_id: SERIES_ID, spec.columns.ds: DS, spec.columns.y: Y}
    missing = [c for c in (*mapping, *spec.covariates) if c not in raw.columns]
    if missing:
        raise DataSourceError(
            f"dataset {spec.name!r}: column(s) {missing} not found; the source has "
            f"{list(raw.columns)[:20]}. Fix the file or the 'columns' map in the spec."
        )
    frame = raw[[*mapping, *spec.covariates]].rename(columns=mapping)
    frame[SERIES_ID] = frame[SERIES_ID].astype(str)
    frame[DS] = _parse_dates(frame[DS], spec.name)
    for column in (Y, *spec.covariates):
        frame[column] = _parse_numbers(frame[column], column, spec.name)
    return frame.reset_index(drop=True)


def _parse_dates(values: pd.Series, dataset: str) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", utc=True).dt.tz_localize(None)
    bad = values[parsed.isna() & values.notna()]
    if len(bad):
        raise DataSourceError(
            f"dataset {dataset!r}: column 'ds' has {len(bad)} value(s) that are not dates, "
            f"e.g. {bad.iloc[0]!r} on row {bad.index[0] + 2}"
        )
    return parsed


def _parse_numbers(values: pd.Series, column: str, dataset: str) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = values[parsed.isna() & values.notna()]
    if len(bad):
        raise DataSourceError(
            f"dataset {dataset!r}: column {column!r} has {len(bad)} non-numeric value(s), "
            f"e.g. {bad.iloc[0]!r} on row {bad.index[0] + 2}"
        )
    return parsed.astype(float)


def write_table(frame: pd.DataFrame, url: str, table: str) -> None:
    """Write a long frame to a SQL table (used to seed SQL-backed datasets)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        frame.to_sql(table, engine, if_exists="replace", index=False)
    finally:
        engine.dispose()
