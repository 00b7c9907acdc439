"""How forecasts did: a series' backtest window by window, the forecast snapshots published for a
model, and a past forecast set against the actuals that arrived after its origin.

The actuals are the newest contract-checked ones the API holds: the served forecast's history
(a snapshot is rolled forward to the newest actuals the forecast flow read), so no data source is
read here and the answer is what the forecast flow saw.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from astralytiq.snapshots import list_snapshots
from registry.rest import NotFound, RegistryError
from serving.backtests import BacktestsUnreadable, BacktestWindows
from serving.deps import ModelStoreDep, SessionDep, Viewer, check_model_scope
from serving.errors import registry_unavailable
from serving.forecasts import served_or_404
from serving.model_store import LoadError, ModelStore, ServedModel
from serving.schemas import (
    DB_ID_MAX,
    MAX_LEVEL,
    VERSION_PATTERN,
    BacktestOut,
    BacktestPointOut,
    BacktestWindowOut,
    ForecastActualPoint,
    ForecastVsActualOut,
    SnapshotOut,
)
from serving.snapshots import SnapshotsUnavailable

router = APIRouter(prefix="/v1/models", tags=["evaluation"])

SeriesIdQuery = Annotated[
    str,
    Query(min_length=1, max_length=200, description="One series of the model (GET .../series lists them)."),
]


def _shown(series_id: str) -> str:
    return repr(series_id)[:60]  # echoed in a message: quoted and cut, whatever it holds


def _unknown_series(name: str, version: str, series_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail=f"model {name!r} v{version} has no series {_shown(series_id)}; "
        f"GET /v1/models/{name}/series lists the served ones",
    )


@router.get("/{name}/backtest", response_model=BacktestOut)
def backtest(
    name: str,
    series_id: SeriesIdQuery,
    store: ModelStoreDep,
    principal: Viewer,
    request: Request,
    version: Annotated[
        str | None,
        Query(pattern=VERSION_PATTERN, description="A registered version; default: the served one."),
    ] = None,
) -> BacktestOut:
    """One series' backtest in a served model's version: the chosen model's forecast from each
    rolling origin beside what happened, with that window's errors (kept by the training run;
    oldest window first)."""
    check_model_scope(principal, name)
    # A model this API serves (any of its versions): an unknown name is a plain 404 here rather
    # than whatever the registry makes of it.
    served = served_or_404(store, name)
    version = version or served.version
    windows: BacktestWindows = request.app.state.backtests
    try:
        found = windows.of(name, version)
    except NotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"model {name!r} has no version {version}"
        ) from None
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    except BacktestsUnreadable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"{name} v{version} was trained before backtest windows were kept; retrain to see them",
        )
    if series_id not in found:
        raise _unknown_series(name, version, series_id)
    return BacktestOut(
        model=name,
        version=version,
        series_id=series_id,
        windows=[
            BacktestWindowOut(
                window=w.window,
                cutoff=w.cutoff,
                model=w.model,
                mase=w.mase,
                smape=w.smape,
                wape=w.wape,
                points=[
                    BacktestPointOut(ds=d, y=y, yhat=yhat)
                    for d, y, yhat in zip(w.ds, w.y, w.yhat, strict=True)
                ],
            )
            for w in found[series_id]
        ],
    )


@router.get("/{name}/snapshots", response_model=list[SnapshotOut])
def snapshots(
    name: str,
    session: SessionDep,
    store: ModelStoreDep,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=200, description="How many, newest first.")] = 20,
) -> list[SnapshotOut]:
    """The forecast snapshots published for a model (every version), newest first."""
    check_model_scope(principal, name)
    served = store.get(name)
    return [
        SnapshotOut(
            id=r.id,
            model_version=r.model_version,
            origin=r.origin,
            actuals_end=r.actuals_end,
            series_count=r.series_count,
            created_at=r.created_at,
            served=served is not None and served.snapshot_id == r.id,
        )
        for r in list_snapshots(session, name, limit)
    ]


def _forecast_made(store: ModelStore, served: ServedModel, snapshot_id: int | None) -> ServedModel:
    """The forecast asked for: a snapshot by id, or the served version as trained."""
    name = served.name
    try:
        if snapshot_id is None:
            return store.as_trained(name, served.version)
        found = store.old_snapshot(name, snapshot_id)
    except SnapshotsUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    except LoadError as exc:
        code = status.HTTP_410_GONE if exc.permanent else status.HTTP_503_SERVICE_UNAVAILABLE
        raise HTTPException(code, detail=f"that forecast cannot be loaded: {exc}") from None
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"model {name!r} has no forecast snapshot {snapshot_id}; GET /v1/models/{name}/snapshots "
            "lists them",
        )
    return found


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@router.get(
    "/{name}/forecast-vs-actual",
    response_model=ForecastVsActualOut,
    responses={410: {"description": "The snapshot asked for can no longer be loaded"}},
)
def forecast_vs_actual(
    name: str,
    series_id: SeriesIdQuery,
    store: ModelStoreDep,
    principal: Viewer,
    snapshot_id: Annotated[
        int | None,
        Query(
            ge=1, le=DB_ID_MAX, description="A published snapshot; default: the served version as trained."
        ),
    ] = None,
    level: Annotated[float, Query(gt=0, le=MAX_LEVEL, description="Interval level in percent.")] = 80.0,
) -> ForecastVsActualOut:
    """A forecast made earlier (the served version as trained, or a snapshot) over its whole
    horizon, with the actuals that have arrived since its origin and its error on them."""
    check_model_scope(principal, name)
    served = served_or_404(store, name)
    made = _forecast_made(store, served, snapshot_id)
    entry = made.bundle.series.get(series_id)
    if entry is None:
        raise _unknown_series(name, made.version, series_id)
    dates, yhat, [(_, lower, upper)] = made.bundle.paths(series_id, made.bundle.max_horizon, [level])
    newest = served.bundle.series.get(series_id)
    actuals = dict(zip(newest.history_dates, newest.history_values, strict=True)) if newest else {}
    points = [
        ForecastActualPoint(ds=d, yhat=f, lower=lo, upper=hi, y=actuals.get(d))
        for d, f, lo, hi in zip(dates, yhat, lower, upper, strict=True)
    ]
    arrived = [p for p in points if p.y is not None]
    errors = [abs(p.y - p.yhat) for p in arrived if p.y is not None]
    total = sum(abs(p.y) for p in arrived if p.y is not None)
    inside = sum(1 for p in arrived if p.y is not None and p.lower <= p.y <= p.upper)
    return ForecastVsActualOut(
        model=name,
        version=made.version,
        snapshot_id=made.snapshot_id,
        origin=dates[0],
        series_id=series_id,
        selected_model=entry.model,
        level=level,
        actuals_end=newest.history_dates[-1] if newest and newest.history_dates else None,
        points=points,
        arrived=len(arrived),
        mae=_finite_or_none(sum(errors) / len(errors)) if errors else None,
        wape=_finite_or_none(100 * sum(errors) / total) if errors and total > 0 else None,
        inside=inside / len(arrived) if arrived else None,
    )
