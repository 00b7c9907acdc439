"""Train a forecaster per series: backtest every candidate, keep the best, refit on everything.

``train_series`` is a pure function of one series, so callers can spread series over processes
(``train``), Prefect tasks or a Dask cluster and get identical results.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from models.backtest import BacktestConfig, WindowScore, backtest
from models.base import ForecastError
from models.bundle import ForecastBundle, SeriesForecast
from models.frame import DS, Series, iter_series
from models.zoo import DEFAULT_CANDIDATES, make_forecaster

ProgressCallback = Callable[[int, int, str], None]  # (done, total, series_id)


@dataclass(frozen=True)
class TrainingConfig:
    freq: str
    horizon: int  # the longest horizon the trained model will serve
    season_length: int = 1
    candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    backtest_windows: int = 3
    backtest_step: int | None = None
    levels: tuple[float, ...] = (80.0, 95.0)
    selection_metric: str = "mase"
    nonnegative: bool = False
    history_points: int = 0  # how much recent history to keep for charts; 0: 4 horizons

    def __post_init__(self) -> None:
        for name in self.candidates:
            make_forecaster(name, self.season_length)  # fails fast on an unknown name
        if not self.candidates:
            raise ValueError("at least one candidate forecaster is required")

    @property
    def backtest(self) -> BacktestConfig:
        return BacktestConfig(self.horizon, self.backtest_windows, self.backtest_step, self.levels)


@dataclass
class SeriesOutcome:
    series_id: str
    selected: str
    reason: str
    scores: list[WindowScore]
    forecast: SeriesForecast


@dataclass
class TrainingResult:
    bundle: ForecastBundle
    scores: pd.DataFrame  # one row per (series, candidate, window)
    selection: pd.DataFrame  # one row per series: the chosen candidate and its mean scores
    summary: dict[str, float] = field(default_factory=dict)


def _mean_score(scores: list[WindowScore], metric: str) -> float:
    values = [getattr(s, metric) for s in scores if not s.error]
    if not values or len(values) < len(scores):
        return math.inf  # a candidate that failed on any window is not trusted
    return float(np.mean(values))


def select(scores: list[WindowScore], candidates: Sequence[str], metric: str) -> tuple[str, str]:
    """The candidate with the best mean backtest ``metric``; ties go to the earlier candidate."""
    by_model = {name: _mean_score([s for s in scores if s.model == name], metric) for name in candidates}
    best = min(candidates, key=lambda name: by_model[name])
    if math.isinf(by_model[best]):
        return "", "no candidate could be backtested"
    return best, f"lowest mean backtest {metric} ({by_model[best]:.3f})"


def train_series(series: Series, config: TrainingConfig) -> SeriesOutcome:
    """Backtest every candidate on one series, select, refit the winner on the full history."""
    scores: list[WindowScore] = []
    for name in config.candidates:
        scores.extend(
            backtest(
                series,
                partial(make_forecaster, name, config.season_length),
                config.backtest,
                config.season_length,
            )
        )
    selected, reason = select(scores, config.candidates, config.selection_metric)
    # Fall back through the candidates (then naive) so every series still gets a forecast.
    order = [selected] if selected else []
    order += [c for c in (*config.candidates, "seasonal_naive", "naive") if c not in order]
    for name in order:
        try:
            forecast = make_forecaster(name, config.season_length).fit(series).forecast(config.horizon)
        except (ForecastError, ValueError, np.linalg.LinAlgError) as exc:
            reason = f"{name} failed on the full history ({exc}); "
            continue
        if name != selected:
            reason = f"{reason}fell back to {name}" if selected else f"{reason}; fell back to {name}"
        break
    else:
        raise ForecastError(f"no forecaster could fit series {series.series_id!r}")
    keep = config.history_points or 4 * config.horizon
    dates = series.future_dates(config.horizon)
    return SeriesOutcome(
        series_id=series.series_id,
        selected=name,
        reason=reason,
        scores=scores,
        forecast=SeriesForecast(
            series_id=series.series_id,
            model=name,
            dates=[d.isoformat() for d in dates.date],
            mean=[float(v) for v in forecast.mean],
            sigma=[float(v) for v in forecast.sigma],
            history_dates=[d.isoformat() for d in series.ds[-keep:].date],
            history_values=[float(v) for v in series.y[-keep:]],
        ),
    )


def train_all(
    series: list[Series],
    config: TrainingConfig,
    n_jobs: int = 0,
    progress: ProgressCallback | None = None,
) -> list[SeriesOutcome]:
    """``train_series`` over many series in worker processes (``n_jobs``; 0: one per core)."""
    workers = n_jobs or os.cpu_count() or 1
    outcomes: list[SeriesOutcome] = []
    if workers == 1 or len(series) == 1:
        for item in series:
            outcomes.append(train_series(item, config))
            if progress:
                progress(len(outcomes), len(series), item.series_id)
        return outcomes
    with ProcessPoolExecutor(max_workers=min(workers, len(series))) as pool:
        futures = {pool.submit(train_series, item, config): item.series_id for item in series}
        for future in as_completed(futures):
            outcomes.append(future.result())
            if progress:
                progress(len(outcomes), len(series), futures[future])
    return sorted(outcomes, key=lambda o: o.series_id)


def assemble(
    outcomes: list[SeriesOutcome], config: TrainingConfig, model_name: str, df: pd.DataFrame
) -> TrainingResult:
    """Gather per-series outcomes into the served bundle and the tables MLflow keeps."""
    score_rows = []
    for outcome in outcomes:
        for s in outcome.scores:
            row = {k: v for k, v in asdict(s).items() if k != "coverage"}
            row.update({f"coverage_{level:g}": v for level, v in s.coverage.items()})
            score_rows.append(row)
    scores = pd.DataFrame(score_rows)
    metric_cols = ["smape", "mase", "rmsse", "wape", "msis"]
    selection_rows = []
    for outcome in outcomes:
        chosen = (
            scores[(scores["series_id"] == outcome.series_id) & (scores["model"] == outcome.selected)]
            if not scores.empty
            else scores
        )
        row = {"series_id": outcome.series_id, "model": outcome.selected, "reason": outcome.reason}
        row.update({m: float(chosen[m].mean()) if len(chosen) else float("nan") for m in metric_cols})
        selection_rows.append(row)
    selection = pd.DataFrame(selection_rows)
    summary = {f"backtest_{m}": float(selection[m].mean()) for m in metric_cols}
    if not scores.empty:
        for name, group in scores.groupby("model"):
            for m in ("mase", "smape"):
                summary[f"candidate_{name}_{m}"] = float(group[m].mean())
        for col in [c for c in scores.columns if c.startswith("coverage_")]:
            chosen_rows = scores.merge(selection[["series_id", "model"]], on=["series_id", "model"])
            summary[f"backtest_{col}"] = float(chosen_rows[col].mean())
    bundle = ForecastBundle(
        model_name=model_name,
        freq=config.freq,
        season_length=config.season_length,
        max_horizon=config.horizon,
        train_start=str(df[DS].min().date()),
        train_end=str(df[DS].max().date()),
        nonnegative=config.nonnegative,
        series={o.series_id: o.forecast for o in outcomes},
        metadata={"candidates": list(config.candidates), "selection_metric": config.selection_metric},
    )
    return TrainingResult(bundle=bundle, scores=scores, selection=selection, summary=summary)


def train(
    df: pd.DataFrame,
    config: TrainingConfig,
    model_name: str,
    n_jobs: int = 0,
    progress: ProgressCallback | None = None,
) -> TrainingResult:
    """Backtest, select and fit every series of a long frame; see ``train_series``."""
    series = list(iter_series(df, config.freq))
    return assemble(train_all(series, config, n_jobs, progress), config, model_name, df)
