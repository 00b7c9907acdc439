"""Load a dataset's rows from its source (CSV, Parquet or a SQL table) into the long format.

Reading is bounded (see ``guards``): size caps are checked before anything is read, and only
the columns the spec names are kept. Values that do not parse as their type are not guessed:
the rows holding them come back in ``SourceRows.unparsed`` with the reason, so a contract can
refuse them or, in quarantine mode, set them aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.guards import (
    DecompressedTooLarge,
    ReadLimits,
    SourceRefused,
    check_size,
    locate_bad_encoding,
    open_capped,
    read_header,
)
from data_contracts.rules import ColumnType
from data_contracts.spec import DatasetSpec
from models.frame import DS, SERIES_ID, Y

REASON = "_reason"
RULE = "_rule"
COLUMN = "_column"
ROW = "_row"  # 1-based line of the row in a CSV file (the header is line 1); the row index otherwise
TYPE_RULE = ColumnType.name


class DataSourceError(SourceRefused):
    """The source cannot be read as this dataset; the one-line message names the rule and where."""

    def __init__(self, dataset: str, message: str, rule: str, column: str | None = None) -> None:
        super().__init__(f"dataset {dataset!r}: {message} [rule: {rule}]", rule, column)
        self.dataset = dataset


@dataclass
class SourceRows:
    """The rows of a dataset: ``frame`` in long format, ``unparsed`` the raw rows that did not parse.

    ``frame`` is indexed by source row (the CSV line number), so a row set aside later can be
    traced back to its line.
    """

    frame: pd.DataFrame
    unparsed: pd.DataFrame = field(default_factory=pd.DataFrame)


def limits_for(spec: DatasetSpec, defaults: ReadLimits | None = None) -> ReadLimits:
    """The spec's own caps where it sets them, the platform defaults elsewhere."""
    base = defaults or ReadLimits()
    source = spec.source
    return ReadLimits(
        max_bytes=int(source.max_bytes) if source.max_bytes is not None else base.max_bytes,
        max_decompressed_bytes=int(source.max_decompressed_bytes)
        if source.max_decompressed_bytes is not None
        else base.max_decompressed_bytes,
        max_columns=source.max_columns,
    )


def _wanted(spec: DatasetSpec) -> list[str]:
    return [spec.columns.series_id, spec.columns.ds, spec.columns.y, *spec.covariate_names]


def _require_columns(spec: DatasetSpec, present: list[str]) -> None:
    missing = [c for c in _wanted(spec) if c not in present]
    if missing:
        shown = ", ".join(present[:12]) + (", ..." if len(present) > 12 else "")
        raise DataSourceError(
            spec.name,
            f"column {missing[0]!r} is missing from the source"
            + (f" (also {missing[1:]})" if len(missing) > 1 else "")
            + f"; the source has: {shown or 'no columns'}. Fix its header or the spec's 'columns' map",
            rule="required column",
            column=missing[0],
        )


NULLS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]


def _read_csv(spec: DatasetSpec, path: Path, limits: ReadLimits) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = read_header(path, limits)
    _require_columns(spec, header)
    wanted = _wanted(spec)
    # Arrow's reader refuses a row with too many or too few fields, where pandas with
    # ``usecols`` would silently drop or pad them. Everything is read as text here and typed
    # below, so a bad value is reported with its row, never guessed.
    options = {
        "read_options": pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 20),
        "convert_options": pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(wanted, pa.string()),
            null_values=NULLS,
            strings_can_be_null=True,
        ),
    }
    try:
        with open_capped(path, limits) as stream:
            table = pacsv.open_csv(stream, **options).read_all()
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise locate_bad_encoding(path, limits, header) from None
        reason = " ".join(str(exc).split())[:300]
        raise SourceRefused(f"{path.name} cannot be parsed as CSV ({reason})", rule="CSV format") from None
    return _typed(table, spec)


def _typed(table: Any, spec: DatasetSpec) -> pd.DataFrame:
    """Text columns to pandas: keys stay text, numbers go through Arrow's fast cast when clean."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: dict[str, Any] = {}
    for name in table.column_names:
        text = pc.utf8_trim_whitespace(table[name])
        if name in (spec.columns.series_id, spec.columns.ds):
            columns[name] = text.to_pandas()
            continue
        try:
            columns[name] = pc.cast(text, pa.float64()).to_pandas()
        except pa.ArrowInvalid:
            columns[name] = text.to_pandas()  # holds text: parsed (and reported) row by row below
    return pd.DataFrame(columns)


def _read_parquet(spec: DatasetSpec, path: Path, limits: ReadLimits) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceRefused(f"{path.name} is not a Parquet file ({exc})", rule="Parquet format") from None
    names = parquet.schema_arrow.names
    if len(names) > limits.max_columns:
        raise SourceRefused(
            f"{path.name} has {len(names):,} columns, over the cap of {limits.max_columns:,}",
            rule="column cap",
        )
    _require_columns(spec, names)
    # The footer knows the row count and each column chunk's size: refuse a bomb before
    # decoding it. Dictionary and run-length encoding make the stored size a poor guide, so
    # count at least eight bytes per value (a float, a timestamp or a pointer to a string).
    wanted = set(_wanted(spec))
    metadata = parquet.metadata
    encoded = sum(
        metadata.row_group(g).column(c).total_uncompressed_size
        for g in range(metadata.num_row_groups)
        for c in range(metadata.num_columns)
        if metadata.row_group(g).column(c).path_in_schema in wanted
    )
    expanded = max(encoded, 8 * metadata.num_rows * len(wanted))
    if expanded > limits.max_decompressed_bytes:
        raise DecompressedTooLarge(
            f"{path.name}: its columns expand to {expanded:,} bytes, over the cap of "
            f"{limits.max_decompressed_bytes:,}; raise source.max_decompressed_bytes if that is intended",
            rule="decompressed size cap",
        )
    try:
        return parquet.read(columns=_wanted(spec)).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise SourceRefused(f"{path.name} cannot be read ({exc})", rule="Parquet format") from None


def _read_sql(spec: DatasetSpec, limits: ReadLimits) -> pd.DataFrame:
    from sqlalchemy import MetaData, Table, create_engine, select
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

    source = spec.source
    assert source.url and source.table
    try:
        engine = create_engine(source.url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise SourceRefused(
            f"source url is not a usable SQLAlchemy URL ({exc})", rule="SQL connection"
        ) from None
    try:
        # Reflect the table rather than format SQL text, so the name can never inject SQL.
        table = Table(source.table, MetaData(), schema=source.schema_name, autoload_with=engine)
        names = [c.name for c in table.columns]
        if len(names) > limits.max_columns:
            raise SourceRefused(
                f"table {source.table!r} has {len(names):,} columns, over the cap of {limits.max_columns:,}",
                rule="column cap",
            )
        _require_columns(spec, names)
        query = select(*(table.c[name] for name in _wanted(spec)))
        chunks: list[pd.DataFrame] = []
        held = 0
        with engine.connect() as connection:
            # Streamed in chunks so the memory cap is checked while rows arrive, not after.
            for chunk in pd.read_sql(
                query, connection.execution_options(stream_results=True), chunksize=50_000
            ):
                held += int(chunk.memory_usage(deep=True).sum())
                if held > limits.max_decompressed_bytes:
                    raise DecompressedTooLarge(
                        f"table {source.table!r} holds more than {limits.max_decompressed_bytes:,} bytes "
                        "of the spec's columns; raise source.max_decompressed_bytes if that is intended",
                        rule="decompressed size cap",
                    )
                chunks.append(chunk)
        return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=_wanted(spec))
    except NoSuchTableError:
        raise SourceRefused(
            f"table {source.table!r} does not exist at the source url", rule="SQL table"
        ) from None
    except SQLAlchemyError as exc:
        reason = " ".join(str(exc).split())[:300]
        raise SourceRefused(
            f"cannot read the SQL source ({exc.__class__.__name__}: {reason})", rule="SQL connection"
        ) from None
    finally:
        engine.dispose()


def _read_raw(spec: DatasetSpec, limits: ReadLimits) -> pd.DataFrame:
    if spec.source.kind == "sql":
        return _read_sql(spec, limits)
    assert spec.source.path is not None
    path = spec.resolve_path(spec.source.path)
    if not path.is_file():
        raise SourceRefused(f"source file {path} does not exist", rule="source file")
    check_size(path, limits)
    if spec.source.kind == "parquet":
        return _read_parquet(spec, path, limits)
    return _read_csv(spec, path, limits)


def read_dataset(spec: DatasetSpec, limits: ReadLimits | None = None) -> SourceRows:
    """The dataset's rows in long format, and apart from them the rows whose values do not parse."""
    try:
        raw = _read_raw(spec, limits_for(spec, limits))
    except DataSourceError:
        raise
    except SourceRefused as refused:
        raise DataSourceError(spec.name, str(refused), refused.rule, refused.column) from None
    first_line = 2 if spec.source.kind == "csv" else 0
    raw.index = pd.RangeIndex(first_line, first_line + len(raw))
    mapping = {spec.columns.series_id: SERIES_ID, spec.columns.ds: DS, spec.columns.y: Y}
    frame = raw[[*mapping, *spec.covariate_names]].rename(columns=mapping)
    original = frame.copy()
    reasons = pd.Series("", index=frame.index)
    rules = pd.Series("", index=frame.index)
    columns = pd.Series("", index=frame.index)

    def flag(bad: pd.Series, column: str, what: str) -> None:
        fresh = bad & (reasons == "")
        reasons[fresh] = [
            f"column {column!r}: {value!r} is not {what}" for value in original.loc[fresh, column]
        ]
        rules[fresh] = TYPE_RULE
        columns[fresh] = column

    frame[SERIES_ID] = frame[SERIES_ID].astype(str).where(frame[SERIES_ID].notna(), None).str.strip()
    parsed_ds = _parse_dates(frame[DS])
    flag(parsed_ds.isna() & frame[DS].notna(), DS, "a date")
    frame[DS] = parsed_ds
    for column in (Y, *spec.covariate_names):
        parsed = pd.to_numeric(frame[column], errors="coerce").astype(float)
        flag(parsed.isna() & frame[column].notna(), column, "a number")
        frame[column] = parsed
    bad = reasons != ""
    unparsed = original[bad].assign(
        **{ROW: original.index[bad], REASON: reasons[bad], RULE: rules[bad], COLUMN: columns[bad]}
    )
    return SourceRows(frame[~bad].rename_axis(ROW), unparsed.reset_index(drop=True))


def _parse_dates(values: pd.Series) -> pd.Series:
    """Timestamps as naive UTC: ISO 8601 in any of its forms, else the format pandas infers."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    rest = parsed.isna() & values.notna()
    if rest.any():
        parsed[rest] = pd.to_datetime(values[rest], errors="coerce", utc=True)
    return parsed.dt.tz_localize(None)


def load_dataset(spec: DatasetSpec, limits: ReadLimits | None = None) -> pd.DataFrame:
    """The dataset in long format: ``series_id`` (str), ``ds`` (datetime), ``y`` (float), covariates.

    Strict: any value that does not parse as its column's type refuses the whole source.
    """
    rows = read_dataset(spec, limits)
    if len(rows.unparsed):
        raise unparsed_error(spec.name, rows.unparsed)
    return rows.frame.reset_index(drop=True)


def unparsed_error(dataset: str, unparsed: pd.DataFrame) -> DataSourceError:
    first = unparsed.iloc[0]
    same = unparsed[unparsed[COLUMN] == first[COLUMN]]
    what = "value(s) that are not dates" if first[COLUMN] == DS else "non-numeric value(s)"
    return DataSourceError(
        dataset,
        f"column {first[COLUMN]!r} has {len(same)} {what}, e.g. {first[first[COLUMN]]!r} on row {first[ROW]}",
        rule=TYPE_RULE,
        column=str(first[COLUMN]),
    )


def write_table(frame: pd.DataFrame, url: str, table: str) -> None:
    """Write a long frame to a SQL table (used to seed SQL-backed datasets)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        frame.to_sql(table, engine, if_exists="replace", index=False)
    finally:
        engine.dispose()
