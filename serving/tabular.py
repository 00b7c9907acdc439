"""A forecast answer as a table: one row per series and date, as flat JSON records or as CSV.

The long layout is what a data frame wants (``pandas.DataFrame(records)`` or ``read_csv``): the
columns are ``series_id, ds, yhat, lo_<level>, hi_<level>, ..., model_version, origin`` and, with
history, ``y`` (history rows first, with no forecast; forecast rows with no ``y``). Series ids are
hostile: in CSV a cell a spreadsheet would read as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic_core import to_json

from serving.model_store import ServedModel

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"


def level_columns(levels: list[float]) -> list[tuple[str, str, str, str]]:
    """(bundle lower key, bundle upper key, lo column, hi column) per level."""
    return [
        (f"yhat_lower_{level:g}", f"yhat_upper_{level:g}", f"lo_{level:g}", f"hi_{level:g}")
        for level in levels
    ]


def columns(levels: list[float], include_history: bool) -> list[str]:
    names = ["series_id", "ds", "yhat"]
    for _, _, lo, hi in level_columns(levels):
        names += [lo, hi]
    names += ["model_version", "origin"]
    return [*names, "y"] if include_history else names


def long_rows(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> list[dict[str, Any]]:
    """The answer's records, in series order (the caller has run ``check_request``)."""
    bundle = served.bundle
    keys = level_columns(levels)
    forecast = bundle.forecast(series_ids, horizon, levels)
    version, origin = served.version, served.origin
    records: list[dict[str, Any]] = []
    for index, series_id in enumerate(series_ids):
        if include_history:
            entry = bundle.series[series_id]
            empty = {name: None for _, _, lo, hi in keys for name in (lo, hi)}
            for ds, y in zip(entry.history_dates, entry.history_values, strict=True):
                records.append(
                    {"series_id": series_id, "ds": ds, "yhat": None, **empty}
                    | {"model_version": version, "origin": origin, "y": y}
                )
        for row in forecast[index * horizon : (index + 1) * horizon]:
            record = {"series_id": series_id, "ds": row["ds"], "yhat": row["yhat"]}
            for lower, upper, lo, hi in keys:
                record[lo] = row[lower]
                record[hi] = row[upper]
            record["model_version"] = version
            record["origin"] = origin
            if include_history:
                record["y"] = None
            records.append(record)
    return records


def long_json(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> bytes:
    return to_json(long_rows(served, series_ids, horizon, levels, include_history))


def defuse(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text: a formula-looking start gets an apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def long_csv(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> bytes:
    out = io.StringIO()
    names = columns(levels, include_history)
    # QUOTE_MINIMAL quotes commas, quotes and line breaks inside a cell; floats are written by
    # repr (round-trip exact); None is an empty cell, which pandas reads back as NaN.
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for record in long_rows(served, series_ids, horizon, levels, include_history):
        writer.writerow([defuse(v) if isinstance(v, str) else v for v in (record[n] for n in names)])
    return out.getvalue().encode()


def preferred_media_type(accept: str | None) -> str | None:
    """JSON or CSV, as the Accept header prefers (JSON when it does not care); None if neither."""
    if not accept or not accept.strip():
        return JSON_MEDIA_TYPE
    choices: list[tuple[float, int, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in (JSON_MEDIA_TYPE, "application/*", "*/*"):
            offered = JSON_MEDIA_TYPE
        elif media in (CSV_MEDIA_TYPE, "text/*"):
            offered = CSV_MEDIA_TYPE
        else:
            continue
        if quality > 0:
            # Higher quality first; then exact types over wildcards; then the order written.
            choices.append((quality, 0 if "*" in media else 1, -position, offered))
    return max(choices)[3] if choices else None
