"""The chosen forecaster's backtest, window by window: what it forecast from each rolling origin,
what happened, and that window's errors. Training keeps it for the chosen model only (a few
horizons per series), so the API can show a series' backtest without refitting anything.

Pure Python (json, dataclasses) like ``models.bundle``: the serving process reads it without
pandas or NumPy; only ``chosen_windows`` is handed the engine's arrays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.backtest import WindowScore
    from models.base import Forecast
    from models.frame import Series

FORMAT_VERSION = 1


@dataclass(frozen=True)
class BacktestWindow:
    window: int  # 0: the oldest origin, as in the backtest scores
    cutoff: str  # the last date the window's model was fitted on
    model: str
    ds: list[str]  # the forecast steps' dates
    y: list[float]  # what happened
    yhat: list[float]  # what the model forecast from ``cutoff`` (as scored: not clipped at zero)
    mase: float | None  # None: not finite (a flat training window has no scale)
    smape: float | None
    wape: float | None


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _iso(moment: Any) -> str:
    # Daily and coarser data as dates, as the bundle writes them; finer data keeps its time.
    return str(moment.date().isoformat() if moment == moment.normalize() else moment.isoformat())


def chosen_windows(
    series: Series, model: str, forecasts: Mapping[int, Forecast], scores: Sequence[WindowScore], horizon: int
) -> list[BacktestWindow]:
    """``model``'s backtest forecasts of ``series`` (keyed by the window's training length) beside
    the actuals, with the errors the backtest scored them by."""
    scored = {s.cutoff: s for s in scores if s.model == model}
    windows = []
    for index, cutoff in enumerate(sorted(forecasts)):
        actual = series.y[cutoff : cutoff + horizon]
        cutoff_date = str(series.ds[cutoff - 1].date())
        score = scored.get(cutoff_date)
        windows.append(
            BacktestWindow(
                window=score.window if score else index,
                cutoff=cutoff_date,
                model=model,
                ds=[_iso(d) for d in series.ds[cutoff : cutoff + len(actual)]],
                y=[float(v) for v in actual],
                yhat=[float(v) for v in forecasts[cutoff].mean[: len(actual)]],
                mase=_finite(score.mase) if score else None,
                smape=_finite(score.smape) if score else None,
                wape=_finite(score.wape) if score else None,
            )
        )
    return windows


def to_json(windows: Mapping[str, Sequence[BacktestWindow]]) -> str:
    """Every series' windows as one JSON document (strict JSON: no NaN)."""
    body = {series_id: [asdict(w) for w in items] for series_id, items in sorted(windows.items())}
    return json.dumps(
        {"format_version": FORMAT_VERSION, "series": body}, separators=(",", ":"), allow_nan=False
    )


def from_json(text: str | bytes) -> dict[str, list[BacktestWindow]]:
    data = json.loads(text)
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"backtest windows format {data.get('format_version')!r} is not {FORMAT_VERSION}")
    return {
        series_id: [BacktestWindow(**item) for item in items] for series_id, items in data["series"].items()
    }
