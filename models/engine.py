"""Train a forecaster per series: backtest every candidate, keep the best, refit on everything.

``train_series`` is a pure function of one series, so callers can spread series over processes
(``train``), Prefect tasks or a Dask cluster and get identical results.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, as_completed, wait
from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from models import defaults
from models.backtest import (
    BacktestConfig,
    WindowScore,
    backtest_forecasts,
    fit_window,
    min_train,
    score_forecast,
)
from models.backtest_windows import BacktestWindow, chosen_windows
from models.base import Forecast, ForecastError
from models.bundle import ForecastBundle, SeriesForecast
from models.calibration import Calibration, fit_calibration, interval_scale, naive_scale, scaled_errors
from models.covariates import USES_COVARIATES, Covariates
from models.frame import DS, Series, iter_series
from models.gbm import STRATEGIES, GBMSettings, GlobalGBM, check_loss, default_lags
from models.parallel import worker_pool
from models.zoo import COMBINATIONS, GLOBAL_CANDIDATES, check_candidate, make_forecaster

ProgressCallback = Callable[[int, int, str], None]  # (done, total, series_id)
StageCallback = Callable[[str], None]  # one line on a step that is not per series
BACKTEST_FITS = ("shared", "window")  # pooled backtest: one fit for all windows, or one each


@dataclass(frozen=True)
class TrainingConfig:
    freq: str
    horizon: int  # the longest horizon the trained model will serve
    season_length: int = 1  # the primary season length (MASE's scale, Naive2's adjustment)
    candidates: tuple[str, ...] = defaults.CANDIDATES
    backtest_windows: int = defaults.BACKTEST_WINDOWS
    backtest_step: int | None = None
    levels: tuple[float, ...] = defaults.LEVELS
    selection_metric: str = defaults.SELECTION_METRIC
    nonnegative: bool = False
    history_points: int = 0  # how much recent history to keep for charts; 0: 4 horizons
    max_history: int = 0  # local models fit on at most this many recent points; 0: all
    combine_top_k: int = 3  # combo_mean / combo_median average this many best candidates
    gbm_lags: int = 0  # lag window of the boosted-trees model; 0: from horizon and season
    gbm_loss: str = defaults.GBM_LOSS  # or "squared_error" (see models/gbm.py for why not)
    gbm_strategy: str = defaults.GBM_STRATEGY  # or "direct": one model per step ahead
    gbm_backtest_fits: str = defaults.GBM_BACKTEST_FITS  # "shared" or "window" (pooled_fits)
    calendar_features: bool = True  # month/week/weekday features (off when dates are synthetic)
    season_lengths: tuple[
        int, ...
    ] = ()  # every seasonal period (multi-seasonal candidates); () = (season_length,)
    time_budget: float = 0.0  # seconds for the whole training; 0: no budget (see models/plan.py)
    calibrate_intervals: bool = True  # conformal calibration on the backtest errors
    # The dataset's covariates (models.covariates); the series carry their values (models.frame)
    covariates: Covariates = field(default_factory=Covariates)

    def __post_init__(self) -> None:
        for name in self.candidates:
            check_candidate(name)  # fails fast on an unknown name
        if not self.candidates:
            raise ValueError("at least one candidate forecaster is required")
        if self.combine_top_k < 2:
            raise ValueError(f"combine_top_k must be >= 2, got {self.combine_top_k}")
        check_loss(self.gbm_loss)
        if self.gbm_strategy not in STRATEGIES:
            raise ValueError(
                f"gbm strategy must be one of {', '.join(STRATEGIES)}, got {self.gbm_strategy!r}"
            )
        if self.gbm_backtest_fits not in BACKTEST_FITS:
            raise ValueError(
                f"gbm backtest fits must be one of {', '.join(BACKTEST_FITS)}, got {self.gbm_backtest_fits!r}"
            )
        if any(p < 1 for p in (self.season_length, *self.season_lengths)):
            raise ValueError(f"season lengths must be >= 1, got {[self.season_length, *self.season_lengths]}")
        if self.time_budget < 0:
            raise ValueError(f"time_budget is in seconds and must be >= 0, got {self.time_budget}")

    @property
    def periods(self) -> tuple[int, ...]:
        """Every declared season length, the primary one first."""
        rest = [p for p in self.season_lengths if p != self.season_length]
        return (self.season_length, *rest)

    @property
    def backtest(self) -> BacktestConfig:
        return BacktestConfig(
            self.horizon, self.backtest_windows, self.backtest_step, self.levels, self.max_history
        )

    @property
    def base_candidates(self) -> tuple[str, ...]:
        """The candidates that forecast on their own (not combinations)."""
        return tuple(c for c in self.candidates if c not in COMBINATIONS)


@dataclass(frozen=True)
class PooledForecasts:
    """One series' forecasts from models fitted across all series (a failure is a message)."""

    windows: dict[str, dict[int, Forecast | str]]  # candidate -> training length -> forecast
    final: dict[str, Forecast | str]  # candidate -> forecast from the end of the history


@dataclass
class SeriesOutcome:
    series_id: str
    selected: str
    reason: str
    scores: list[WindowScore]
    forecast: SeriesForecast
    # candidate -> |error| / interval scale on each backtest window (rows) and step (columns)
    interval_errors: dict[str, np.ndarray] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # a combination's candidates (roll-forward reuses them)
    # candidate -> the series' interval scale (models.calibration.interval_scale)
    interval_scales: dict[str, float] = field(default_factory=dict)
    # the chosen model's backtest forecasts beside the actuals, per window (the portal shows them)
    backtest_windows: list[BacktestWindow] = field(default_factory=list)


@dataclass
class TrainingResult:
    bundle: ForecastBundle
    scores: pd.DataFrame  # one row per (series, candidate, window)
    selection: pd.DataFrame  # one row per series: the chosen candidate and its mean scores
    summary: dict[str, float] = field(default_factory=dict)
    calibration: Calibration | None = None
    backtest_windows: dict[str, list[BacktestWindow]] = field(default_factory=dict)  # series -> windows


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


def _combine(kind: str, forecasts: list[Forecast]) -> Forecast:
    means = np.vstack([f.mean for f in forecasts])
    sigmas = np.vstack([f.sigma for f in forecasts])
    # The members' errors are strongly correlated, so the band keeps their typical width.
    if kind == "combo_median":
        return Forecast(np.median(means, axis=0), np.median(sigmas, axis=0))
    return Forecast(means.mean(axis=0), sigmas.mean(axis=0))


def _top_members(scores: list[WindowScore], names: Sequence[str], metric: str, k: int) -> list[str]:
    ranked = sorted(
        (n for n in names if math.isfinite(_mean_score([s for s in scores if s.model == n], metric))),
        key=lambda n: _mean_score([s for s in scores if s.model == n], metric),
    )
    return ranked[:k]


def train_series(
    series: Series, config: TrainingConfig, pooled: PooledForecasts | None = None
) -> SeriesOutcome:
    """Backtest every candidate on one series, select, refit the winner on the full history.

    ``pooled`` carries forecasts of global candidates fitted across many series (see
    ``pool_forecasts``); without it a global candidate is fitted on this series alone.
    """
    m = config.season_length
    window_forecasts: dict[str, dict[int, Forecast | str]] = {}
    for name in config.base_candidates:
        if pooled is not None and name in pooled.windows:
            window_forecasts[name] = pooled.windows[name]
        else:
            window_forecasts[name] = backtest_forecasts(
                series, partial(make_forecaster, name, m, config.periods), config.backtest, m
            )
    scores: list[WindowScore] = []
    residuals: dict[str, list[np.ndarray]] = {}
    made: dict[str, dict[int, Forecast]] = {}  # candidate -> training length -> backtest forecast

    def record(name: str, cutoff: int, forecast: Forecast) -> None:
        actual = series.y[cutoff : cutoff + config.horizon]
        residuals.setdefault(name, []).append(padded(actual - forecast.mean[: len(actual)], config.horizon))
        made.setdefault(name, {})[cutoff] = forecast

    for name, by_cutoff in window_forecasts.items():
        for window, (cutoff, forecast) in enumerate(sorted(by_cutoff.items())):
            scores.append(score_forecast(series, name, cutoff, window, forecast, config.backtest, m))
            if isinstance(forecast, Forecast):
                record(name, cutoff, forecast)
    members = _top_members(scores, config.base_candidates, config.selection_metric, config.combine_top_k)
    for kind in (c for c in config.candidates if c in COMBINATIONS):
        if len(members) < 2:
            scores.append(
                score_forecast(
                    series, kind, len(series), 0, "fewer than two candidates to combine", config.backtest, m
                )
            )
            continue
        common = set.intersection(*(set(window_forecasts[n]) for n in members))
        for window, cutoff in enumerate(sorted(common)):
            parts = [window_forecasts[n][cutoff] for n in members]
            combined = _combine(kind, [p for p in parts if isinstance(p, Forecast)])
            scores.append(score_forecast(series, kind, cutoff, window, combined, config.backtest, m))
            record(kind, cutoff, combined)
    selected, reason = select(scores, config.candidates, config.selection_metric)

    finals: dict[str, Forecast] = {}

    def final_forecast(name: str) -> Forecast:
        if name not in finals:
            if name in COMBINATIONS:
                finals[name] = _combine(name, [final_forecast(n) for n in members])
            elif pooled is not None and name in pooled.final:
                result = pooled.final[name]
                if isinstance(result, str):
                    raise ForecastError(result)
                finals[name] = result
            else:
                model = make_forecaster(name, m, config.periods)
                finals[name] = fit_window(series, model, config.horizon, config.max_history)
        return finals[name]

    # Fall back through the candidates (then naive) so every series still gets a forecast.
    order = [selected] if selected else []
    order += [c for c in (*config.candidates, "seasonal_naive", "naive") if c not in order]
    for name in order:
        try:
            forecast = final_forecast(name)
        except (ForecastError, ValueError, np.linalg.LinAlgError) as exc:
            reason = f"{name} failed on the full history ({exc}); "
            continue
        if name != selected:
            reason = f"{reason}fell back to {name}" if selected else f"{reason}; fell back to {name}"
        break
    else:
        raise ForecastError(f"no forecaster could fit series {series.series_id!r}")
    if name in COMBINATIONS:
        reason = f"{reason}; members: {', '.join(members)}"
    keep = config.history_points or 4 * config.horizon
    naive = naive_scale(series.y, m)
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
        interval_errors={name: scaled_errors(np.vstack(rows), naive) for name, rows in residuals.items()},
        interval_scales={name: interval_scale(np.vstack(rows), naive) for name, rows in residuals.items()},
        members=list(members) if name in COMBINATIONS else [],
        backtest_windows=chosen_windows(series, name, made.get(name, {}), scores, config.horizon),
    )


def padded(values: np.ndarray, horizon: int) -> np.ndarray:
    """``values`` as a row of ``horizon`` floats, NaN after a window cut short by the data."""
    out = np.full(horizon, np.nan)
    out[: len(values)] = values
    return out


def _fit_pooled(
    name: str, config: TrainingConfig, train: list[Series], targets: dict[int, list[Series]]
) -> dict[int, dict[str, Forecast | str]]:
    """One pooled fit on ``train``, then a forecast from the end of each set of ``targets``
    (keyed by windows back, -1: the full history)."""
    settings = gbm_settings(config)
    try:
        model = GlobalGBM(settings).fit(train)
        return {back: dict(model.forecast(cut)) for back, cut in targets.items()}
    except (ForecastError, ValueError) as exc:
        return {back: {s.series_id: f"{name}: {exc}" for s in cut} for back, cut in targets.items()}


def gbm_settings(config: TrainingConfig) -> GBMSettings:
    return GBMSettings(
        horizon=config.horizon,
        lags=config.gbm_lags or default_lags(config.horizon, max(config.periods)),
        calendar=config.calendar_features,
        loss=config.gbm_loss,
        strategy=config.gbm_strategy,
    )


@dataclass(frozen=True)
class PooledFit:
    candidate: str
    label: str  # which data it learns from, for the progress line
    train: list[Series]
    targets: dict[int, list[Series]]  # windows back (-1: the full history) -> series to forecast


HEARTBEAT_SECONDS = 30.0  # a line while the pooled fits run, so a long fit is never silent


def _run_fits(
    fits: list[PooledFit], config: TrainingConfig, n_jobs: int, heartbeat: Callable[[], None] | None = None
) -> Iterator[tuple[PooledFit, dict[int, dict[str, Forecast | str]]]]:
    """Each pooled fit with its forecasts, as they finish (in worker processes when n_jobs > 1);
    ``heartbeat`` is called every ``HEARTBEAT_SECONDS`` in which none finished."""
    if n_jobs <= 1 or len(fits) <= 1:
        for fit in fits:
            yield fit, _fit_pooled(fit.candidate, config, fit.train, fit.targets)
        return
    with worker_pool(min(n_jobs, len(fits))) as pool:
        futures = {pool.submit(_fit_pooled, f.candidate, config, f.train, f.targets): f for f in fits}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED)
            if not done and heartbeat:
                heartbeat()
            for future in done:
                yield futures[future], future.result()


def pooled_fits(series: list[Series], config: TrainingConfig) -> list[PooledFit]:
    """The pooled fits a run needs: per global candidate, the backtest fit(s) and the refit.

    ``gbm_backtest_fits == "shared"`` (the default) trains one model on every series cut at its
    oldest backtest cutoff and forecasts every window from it: no window sees its own future,
    and the backtest costs one fit instead of one per window (measured in benchmarks/README.md).
    ``"window"`` refits at each window's own cutoff.
    """
    fits: list[PooledFit] = []
    windows = config.backtest_windows
    for name in (c for c in config.base_candidates if c in GLOBAL_CANDIDATES):
        probe = make_forecaster(name, config.season_length, config.periods)
        cutoffs = {
            s.series_id: config.backtest.cutoffs(len(s), min_train(probe, config.season_length))
            for s in series
        }
        cut = {
            back: [
                s.head(cutoffs[s.series_id][-1 - back]) for s in series if len(cutoffs[s.series_id]) > back
            ]
            for back in range(windows)
        }
        cut = {back: train for back, train in cut.items() if train}
        if config.gbm_backtest_fits == "shared" and cut:
            oldest = [s.head(cutoffs[s.series_id][0]) for s in series if cutoffs[s.series_id]]
            fits.append(PooledFit(name, f"all {len(cut)} backtest windows (one fit)", oldest, cut))
        else:
            fits += [
                PooledFit(name, f"backtest window {back + 1} of {windows}", train, {back: train})
                for back, train in cut.items()
            ]
        fits.append(PooledFit(name, "the full history", series, {-1: series}))
    return fits


def pool_forecasts(
    series: list[Series],
    config: TrainingConfig,
    n_jobs: int = 1,
    stage: StageCallback | None = None,
) -> dict[str, PooledForecasts]:
    """Fit each global candidate across all series for the backtest windows and on all data.

    Window k of every series (k-th cutoff from the end) is forecast by a model trained on every
    series cut at or before its own k-th cutoff, so no window sees its own future
    (``pooled_fits``). The fits are independent, so with ``n_jobs`` > 1 they run in worker
    processes; ``stage`` hears of each one as it finishes (a pooled fit is the longest single
    step of a run). Returns each series' share.
    """
    windows: dict[str, dict[str, dict[int, Forecast | str]]] = {s.series_id: {} for s in series}
    final: dict[str, dict[str, Forecast | str]] = {s.series_id: {} for s in series}
    fits = pooled_fits(series, config)
    for fit in fits:
        for sid in windows:
            windows[sid].setdefault(fit.candidate, {})
    started = time.perf_counter()
    finished = 0

    def still_fitting() -> None:
        if stage:
            elapsed = time.perf_counter() - started
            stage(f"pooled fits: {finished} of {len(fits)} done, still fitting ({elapsed:.0f} s)")

    if stage and fits:
        stage(
            f"{len(fits)} pooled fit(s) of {', '.join(sorted({f.candidate for f in fits}))} across "
            f"{len(series)} series started in {min(n_jobs, len(fits))} process(es)"
        )
    for done, (fit, forecasts) in enumerate(_run_fits(fits, config, n_jobs, still_fitting), start=1):
        finished = done
        for back, by_series in forecasts.items():
            lengths = {t.series_id: len(t) for t in fit.targets[back]}
            for sid, forecast in by_series.items():
                if back < 0:
                    final[sid][fit.candidate] = forecast
                else:
                    windows[sid][fit.candidate][lengths[sid]] = forecast
        if stage:
            elapsed = time.perf_counter() - started
            stage(
                f"{fit.candidate} fitted across {len(fit.train)} series on {fit.label} "
                f"({done}/{len(fits)}, {elapsed:.0f} s)"
            )
    return {sid: PooledForecasts(windows[sid], final[sid]) for sid in windows}


def train_all(
    series: list[Series],
    config: TrainingConfig,
    n_jobs: int = 0,
    progress: ProgressCallback | None = None,
    stage: StageCallback | None = None,
) -> list[SeriesOutcome]:
    """``train_series`` over many series in worker processes (``n_jobs``; 0: one per core).

    Global candidates are first fitted across all series (``pool_forecasts``, one process per fit).
    """
    workers = n_jobs or os.cpu_count() or 1
    pooled: dict[str, PooledForecasts] = {}
    if len(series) > 1 and any(c in GLOBAL_CANDIDATES for c in config.candidates):
        pooled = pool_forecasts(series, config, workers, stage)
    outcomes: list[SeriesOutcome] = []
    if workers == 1 or len(series) == 1:
        for item in series:
            outcomes.append(train_series(item, config, pooled.get(item.series_id)))
            if progress:
                progress(len(outcomes), len(series), item.series_id)
        return outcomes
    with worker_pool(min(workers, len(series))) as pool:
        futures = {
            pool.submit(train_series, item, config, pooled.get(item.series_id)): item.series_id
            for item in series
        }
        for future in as_completed(futures):
            outcomes.append(future.result())
            if progress:
                progress(len(outcomes), len(series), futures[future])
    return sorted(outcomes, key=lambda o: o.series_id)


def plan_training(
    series: list[Series], config: TrainingConfig, n_jobs: int = 0, stage: StageCallback | None = None
) -> TrainingConfig:
    """The config with the candidates that apply and fit the time budget; each drop is logged."""
    from models.plan import within_budget

    plan = within_budget(config, series, n_jobs or os.cpu_count() or 1, stage)
    for dropped in plan.dropped:
        if stage:
            stage(f"{dropped.candidate} dropped: {dropped.reason}" if dropped.candidate else dropped.reason)
    return plan.config


def calibrate(
    outcomes: list[SeriesOutcome], config: TrainingConfig
) -> tuple[Calibration | None, list[SeriesOutcome]]:
    """Fit the interval calibration on every outcome's backtest errors and apply it to the
    chosen forecasts (new outcomes; the given ones are left as they were)."""
    if not config.calibrate_intervals:
        return None, outcomes
    errors: dict[str, list[np.ndarray]] = {}
    for outcome in outcomes:
        for name, rows in outcome.interval_errors.items():
            errors.setdefault(name, []).append(rows)
    calibration = fit_calibration(errors, config.levels, config.horizon)
    calibrated = []
    for outcome in outcomes:
        scale = outcome.interval_scales.get(outcome.selected)
        if scale is None or outcome.selected not in calibration.step_factors:
            calibrated.append(outcome)  # nothing to calibrate on: the model's own sigma
            continue
        factors = calibration.factors(outcome.selected, len(outcome.forecast.sigma))
        sigma = [float(scale * f) for f in factors]
        calibrated.append(replace(outcome, forecast=replace(outcome.forecast, sigma=sigma)))
    return calibration, calibrated


def calibrated_coverage(outcomes: list[SeriesOutcome], calibration: Calibration, level: float) -> float:
    """Share of the chosen models' backtest errors inside their calibrated ``level``% band."""
    from models.intervals import tail_ratio, z_score

    inside, total = 0, 0
    for outcome in outcomes:
        rows = outcome.interval_errors.get(outcome.selected)
        if rows is None or not rows.size:
            continue
        tails = {f"{k:g}": v for k, v in calibration.tails.get(outcome.selected, {}).items()}
        half = (
            z_score(level) * tail_ratio(tails, level) * calibration.factors(outcome.selected, rows.shape[1])
        )
        finite = np.isfinite(rows)
        inside += int(((rows <= half[None, :]) & finite).sum())
        total += int(finite.sum())
    return inside / total if total else float("nan")


def assemble(
    outcomes: list[SeriesOutcome], config: TrainingConfig, model_name: str, df: pd.DataFrame
) -> TrainingResult:
    """Gather per-series outcomes into the served bundle and the tables MLflow keeps; the
    chosen forecasts' intervals are calibrated on the backtest errors first (``calibrate``)."""
    calibration, outcomes = calibrate(outcomes, config)
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
    tails: dict[str, dict[str, float]] = {}
    # What a roll-forward needs to repeat these choices on new actuals without a new selection.
    combo_members = {o.series_id: o.members for o in outcomes if o.members}
    sigma_factors: dict[str, list[float]] = {}
    interval_scales: dict[str, float] = {}  # series -> its interval scale (sigma = scale * factor)
    if calibration is not None:
        sigma_factors = {
            model: [round(float(f), 6) for f in calibration.factors(model, config.horizon)]
            for model in sorted({o.selected for o in outcomes})
        }
        interval_scales = {
            o.series_id: round(float(o.interval_scales[o.selected]), 6)
            for o in outcomes
            if o.selected in o.interval_scales and o.selected in calibration.step_factors
        }
        for level in config.levels:
            summary[f"backtest_calibrated_coverage_{level:g}"] = calibrated_coverage(
                outcomes, calibration, level
            )
        chosen_models = {o.selected for o in outcomes}
        tails = {
            model: {f"{level:g}": round(ratio, 4) for level, ratio in ratios.items()}
            for model, ratios in calibration.tails.items()
            if model in chosen_models
        }
    bundle = ForecastBundle(
        model_name=model_name,
        freq=config.freq,
        season_length=config.season_length,
        max_horizon=config.horizon,
        train_start=str(df[DS].min().date()),
        train_end=str(df[DS].max().date()),
        nonnegative=config.nonnegative,
        series={o.series_id: o.forecast for o in outcomes},
        metadata={
            "candidates": list(config.candidates),
            "selection_metric": config.selection_metric,
            "season_lengths": list(config.periods),
            "intervals": "calibrated on backtest errors" if calibration is not None else "model",
            "combo_members": combo_members,
            "sigma_factors": sigma_factors,
            "interval_scales": interval_scales,
            # What the models were given, and which of the candidates learn from it: a roll-forward
            # rebuilds the same covariates, the API says which answers a scenario can change.
            "covariates": config.covariates.describe(),
            "covariate_models": sorted(c for c in config.base_candidates if c in USES_COVARIATES)
            if config.covariates.any
            else [],
        },
        interval_tails=tails,
    )
    return TrainingResult(
        bundle=bundle,
        scores=scores,
        selection=selection,
        summary=summary,
        calibration=calibration,
        backtest_windows={o.series_id: o.backtest_windows for o in outcomes},
    )


def train(
    df: pd.DataFrame,
    config: TrainingConfig,
    model_name: str,
    n_jobs: int = 0,
    progress: ProgressCallback | None = None,
    stage: StageCallback | None = None,
) -> TrainingResult:
    """Plan, backtest, select and fit every series of a long frame; see ``train_series``."""
    series = list(iter_series(df, config.freq, config.covariates))
    config = plan_training(series, config, n_jobs, stage)
    return assemble(train_all(series, config, n_jobs, progress, stage), config, model_name, df)
