"""A forecast answer from a served model: checked against it and written as JSON, cheaply.

A version's forecasts never change, so each series' rendered JSON (per horizon, levels and
history flag) is kept in a bounded LRU cache owned by the served version; a swap drops it with
the old model. A miss builds plain dicts and lets pydantic-core write them in Rust.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from pydantic_core import to_json

from serving import metrics
from serving.model_store import ModelStore, ServedModel
from serving.schemas import MAX_SERIES_PER_REQUEST


def answer_headers(served: ServedModel) -> dict[str, str]:
    headers = {"X-Model-Version": served.version, "X-Forecast-Origin": served.origin}
    if served.snapshot_id is not None:
        headers["X-Forecast-Snapshot"] = str(served.snapshot_id)
    return headers


def served_or_404(store: ModelStore, name: str) -> ServedModel:
    served = store.get(name)
    if served is None:
        known = ", ".join(sorted(store.all())) or "none yet"
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"model {name!r} is not served; served models: {known}"
        )
    return served


def check_request(served: ServedModel, series_ids: list[str], horizon: int) -> None:
    bundle = served.bundle
    if horizon > bundle.max_horizon:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"horizon {horizon} exceeds the maximum of model {served.name!r} "
            f"(v{served.version}), {bundle.max_horizon} steps; ask for 1-{bundle.max_horizon}",
        )
    unknown = [s for s in series_ids if s not in bundle.series]
    if unknown:
        shown = ", ".join(repr(s)[:60] for s in unknown[:5])
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"{len(unknown)} unknown series for model {served.name!r}: {shown}"
            + (" ..." if len(unknown) > 5 else "")
            + f"; GET /v1/models/{served.name}/series lists its {len(bundle.series)} series",
        )


def select_series(served: ServedModel, series_ids: list[str] | None) -> list[str]:
    """The series a request names, or all of the model's (bounded by MAX_SERIES_PER_REQUEST)."""
    if series_ids is not None:
        return series_ids
    every = list(served.bundle.series)
    if len(every) > MAX_SERIES_PER_REQUEST:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"all_series: model {served.name!r} has {len(every):,} series and one answer holds at most "
            f"{MAX_SERIES_PER_REQUEST:,}; name them in series_ids, {MAX_SERIES_PER_REQUEST:,} at a time "
            f"(GET /v1/models/{served.name}/series lists them)",
        )
    return every


def answer_values(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> int:
    """How many numbers the answer holds: per series, horizon x (1 + 2 x levels), plus its
    history points when asked for (the caller has run ``check_request``)."""
    values = len(series_ids) * horizon * (1 + 2 * len(levels))
    if include_history:
        entries = served.bundle.series
        values += sum(len(entries[s].history_values) for s in series_ids)
    return values


def check_answer_size(values: int, limit: int, where: str = "") -> None:
    if values > limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{where}this answer would hold {values:,} numbers (series x horizon x (1 + 2 x levels), "
            f"plus history points); the limit is {limit:,} per call (ASTRALYTIQ_MAX_FORECAST_VALUES). "
            "Ask for fewer series, a shorter horizon or fewer levels, leave out the history, or split the call",
        )


def _numbers(values: list[float]) -> list[bytes]:
    """Each number's JSON text, exactly as pydantic-core writes it, from one call for the list
    (no Python object per number: this is most of the uncached path's cost)."""
    if not values:
        return []
    return to_json(values)[1:-1].split(b",")  # a number's text never holds a comma


def _strings(texts: list[str]) -> list[bytes]:
    """Each string's JSON text without its quotes. One call for the list when nothing in it
    needed escaping (ISO dates never do); otherwise one call per string, so a quote or a
    backslash can never be mistaken for a boundary."""
    if not texts:
        return []
    whole = to_json(texts)
    if b"\\" not in whole:  # no escapes: no quote inside a string, so '","' only separates
        return whole[2:-2].split(b'","')
    return [to_json(text)[1:-1] for text in texts]


def _point_template(levels: list[float]) -> bytes:
    """One step's JSON object with %s holes for ds, yhat, then lower and upper per level."""
    intervals = b",".join(b'{"level":' + to_json(level) + b',"lower":%s,"upper":%s}' for level in levels)
    return b'{"ds":"%s","yhat":%s,"intervals":[' + intervals + b"]}"


_HISTORY_POINT = b'{"ds":"%s","y":%s}'


def _render(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> list[bytes]:
    """One JSON object per series, in order (the SeriesForecastOut shape, byte for byte what
    pydantic-core writes for it), built from the bundle's columns: each column is written in
    one call and the objects are filled from a template, with no dict or list per step."""
    bundle = served.bundle
    point = _point_template(levels)
    scales: dict[str, list[float]] = {}  # per chosen model: its band multipliers, worked out once
    rendered = []
    for series_id in series_ids:
        entry = bundle.series[series_id]
        model_scales = scales.get(entry.model)
        if model_scales is None:
            model_scales = scales[entry.model] = bundle.band_scales(entry.model, levels)
        dates, yhat, level_bands = bundle.paths(series_id, horizon, levels, model_scales)
        columns = [_strings(dates), _numbers(yhat)]
        for _, lower, upper in level_bands:
            columns += (_numbers(lower), _numbers(upper))
        points = b",".join([point % step for step in zip(*columns, strict=True)])
        if include_history:
            history = (
                b"["
                + b",".join(
                    [
                        _HISTORY_POINT % step
                        for step in zip(
                            _strings(entry.history_dates), _numbers(entry.history_values), strict=True
                        )
                    ]
                )
                + b"]"
            )
        else:
            history = b"null"
        rendered.append(
            b'{"series_id":'
            + to_json(series_id)
            + b',"selected_model":'
            + to_json(entry.model)
            + b',"points":['
            + points
            + b'],"history":'
            + history
            + b"}"
        )
    return rendered


def series_json(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> list[bytes]:
    """Each series' rendered forecast, from the cache where it can be."""
    cache = served.cache
    if not cache.max_bytes:  # the cache is off (ASTRALYTIQ_FORECAST_CACHE_MB=0): no lookups
        metrics.count_cache(served.name, "miss", len(series_ids))
        return _render(served, series_ids, horizon, levels, include_history)
    level_key = tuple(levels)
    found = cache.get_many([(s, horizon, level_key, include_history) for s in series_ids])
    missing = [s for s, value in zip(series_ids, found, strict=True) if value is None]
    hits = len(series_ids) - len(missing)
    if hits:
        metrics.count_cache(served.name, "hit", hits)
    if not missing:
        return found  # type: ignore[return-value]
    metrics.count_cache(served.name, "miss", len(missing))
    fresh = dict(zip(missing, _render(served, missing, horizon, levels, include_history), strict=True))
    for series_id, value in fresh.items():
        cache.put((series_id, horizon, level_key, include_history), value)
    return [value if value is not None else fresh[s] for s, value in zip(series_ids, found, strict=True)]


def forecast_json(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> bytes:
    """The ForecastResponse body (the caller has run ``check_request``)."""
    head = to_json(
        {
            "model": served.name,
            "version": served.version,
            "origin": served.origin,
            "snapshot_id": served.snapshot_id,
            "horizon": horizon,
            "levels": levels,
        }
    )
    body = b",".join(series_json(served, series_ids, horizon, levels, include_history))
    return head[:-1] + b',"forecasts":[' + body + b"]}"


def batch_json(parts: list[bytes]) -> bytes:
    return b'{"results":[' + b",".join(parts) + b"]}"
