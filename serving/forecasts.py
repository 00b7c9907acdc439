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


def _render(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> list[bytes]:
    """One JSON object per series, in order (the SeriesForecastOut shape), built from the
    bundle's columns (no intermediate row per step: this is the uncached path's cost)."""
    bundle = served.bundle
    rendered = []
    for series_id in series_ids:
        entry = bundle.series[series_id]
        dates, yhat, level_bands = bundle.paths(series_id, horizon, levels)
        points = [
            {
                "ds": dates[step],
                "yhat": yhat[step],
                "intervals": [
                    {"level": lv, "lower": lo[step], "upper": up[step]} for lv, lo, up in level_bands
                ],
            }
            for step in range(horizon)
        ]
        history = (
            [{"ds": d, "y": v} for d, v in zip(entry.history_dates, entry.history_values, strict=True)]
            if include_history
            else None
        )
        rendered.append(
            to_json(
                {"series_id": series_id, "selected_model": entry.model, "points": points, "history": history}
            )
        )
    return rendered


def series_json(
    served: ServedModel, series_ids: list[str], horizon: int, levels: list[float], include_history: bool
) -> list[bytes]:
    """Each series' rendered forecast, from the cache where it can be."""
    cache = served.cache
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
    head = to_json({"model": served.name, "version": served.version, "horizon": horizon, "levels": levels})
    body = b",".join(series_json(served, series_ids, horizon, levels, include_history))
    return head[:-1] + b',"forecasts":[' + body + b"]}"


def batch_json(parts: list[bytes]) -> bytes:
    return b'{"results":[' + b",".join(parts) + b"]}"
