"""A gradient-boosted regressor on lag (and calendar) features, global across series.

Scikit-learn's ``HistGradientBoostingRegressor`` learns from windows of every series at once:
each window's lags are divided by their mean absolute value, and the target is the change from
the last observed value on that scale, so series of any magnitude share one model (the recipe
that made global models win on M4 and M5). Fitted on a single series it is a local lag regressor.

Three strategies turn lag windows into a horizon (``GBMSettings.strategy``; measured in
``benchmarks/README.md``):

- ``stacked`` (the default): one model for every step ahead, the step a feature. Each training
  row is a (window, step) pair whose lags are indexed from the *target*: lag d is the value d
  steps before the target, missing (NaN, which the trees route on their own) where it lies
  after the forecast origin. "Same week last year" is then one feature at every step, as it was
  for the direct strategy's per-step models, at the cost of one fit.
- ``recursive``: one model of the next step, applied ``horizon`` times, each forecast fed back.
- ``direct``: one model per step ahead; its cost grows with the horizon (48 fits per window for
  hourly data).

The training rows are a bounded sample (at most ``max_rows`` over all series, drawn from the
most recent windows of each), so a fit's cost grows with neither the horizon nor the number or
length of the series. Intervals use the spread of each step's scaled errors on held-out windows, times the
series' own scale (the engine then calibrates them on its backtest windows).

Two settings carry most of the accuracy (measured on M4 Weekly, h=13, 359 series, OWA against
Naive2): the absolute-error loss (0.70 against 0.85 with squared error: a few windows with level
shifts otherwise dominate the fit, and sMAPE and MASE are absolute-error scores) and a look-back
of several horizons (0.90 with 26 lags, 0.70 with 52: the window then spans a year, so the trees
see last year's same week even when no season length is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from models.base import Forecast, ForecastError, LocalForecaster
from models.covariates import Covariates
from models.frame import Series

LOSSES = ("absolute_error", "squared_error")
STRATEGIES = ("stacked", "recursive", "direct")


@dataclass(frozen=True)
class GBMSettings:
    horizon: int
    lags: int
    calendar: bool = True
    strategy: str = "stacked"  # or "recursive", "direct"; see the module docstring
    max_windows_per_series: int = 200  # the most recent windows; older ones add time, not skill
    max_rows: int = 250_000  # training rows over all series: bounds a fit's cost
    rows_per_series: int = 1_000  # (window, step) rows of one series, for the stacked strategy
    # rows x features of one stacked fit: long look-backs and horizons get fewer rows, so a
    # fit's cost stays about the same (M4 Weekly: 250,000 x 120; Hourly 414 series: 69,000 x 433)
    max_cells: int = 30_000_000
    max_iter: int = 500  # one model learns every step: 200 iterations scored OWA 0.752, 500 0.736
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    origin_lags: bool = True  # stacked: the lags indexed from the origin too (M4 Weekly 0.736 -> 0.698)
    loss: str = "absolute_error"  # or "squared_error"; see the module docstring
    seed: int = 0

    def __post_init__(self) -> None:
        check_loss(self.loss)
        if self.strategy not in STRATEGIES:
            raise ValueError(f"gbm strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.horizon < 1 or self.lags < 2:
            raise ValueError(f"gbm needs horizon >= 1 and lags >= 2, got {self.horizon} and {self.lags}")


def check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"gbm loss must be {' or '.join(map(repr, LOSSES))}, got {loss!r}")


def default_lags(horizon: int, season_length: int) -> int:
    """Four horizons back (N-BEATS looks back 2 to 7 horizons) and at least two seasons."""
    return max(4 * horizon, 2 * season_length, 8)


def _scale(window: np.ndarray) -> np.ndarray:
    """Mean absolute value of each row; a zero window gets scale 1 so it stays finite."""
    level = np.mean(np.abs(window), axis=-1)
    return np.where(level > 1e-9, level, 1.0)


def _calendar(dates: np.ndarray) -> np.ndarray:
    """Month, ISO week, weekday and hour of each target date (columns)."""
    import pandas as pd

    index = pd.DatetimeIndex(dates)
    return np.column_stack(
        [index.month, index.isocalendar().week.to_numpy(dtype=int), index.dayofweek, index.hour]
    ).astype(float)


def _padded(y: np.ndarray, lags: int) -> np.ndarray:
    """The series with its first value repeated in front, so a short one still fills a window."""
    if len(y) >= lags:
        return y
    return np.r_[np.full(lags - len(y), y[0]), y]


def _features(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scaled lag features of each window (rows), and each window's scale."""
    scale = _scale(windows)
    scaled = windows / scale[:, None]
    last = scaled[:, -1:]
    # Lags relative to the last value, the window's level and its recent slope.
    x = np.column_stack([scaled[:, :-1] - last, last, np.log1p(scale), scaled[:, -1] - scaled[:, -2]])
    return x, scale


def _regressor(settings: GBMSettings) -> object:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        loss=settings.loss,
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=20,
        random_state=settings.seed,
    )


class GlobalGBM:
    """Boosted trees on scaled lag windows pooled over many series (recursive or direct)."""

    name = "gbm"

    def __init__(self, settings: GBMSettings) -> None:
        self.settings = settings
        self._models: list[object] = []
        self._error_scale = np.zeros(settings.horizon)
        self._covariates: Covariates | None = None
        self._covariate_width = 0

    @property
    def fitted_models(self) -> int:
        """How many regressors the last ``fit`` trained (1 unless the strategy is direct)."""
        return len(self._models)

    def stacked_features(self) -> int:
        s = self.settings
        return (
            (s.lags - 2 + s.horizon)
            + 1
            + 3
            + (s.lags - 1 if s.origin_lags else 0)
            + (4 if s.calendar else 0)
            + self._covariate_width
        )

    def _use_covariates(self, series: Sequence[Series]) -> None:
        """Learn from the series' covariates (stacked strategy only; the others ignore them)."""
        from models import exog

        found = series[0].covariates if series and series[0].x is not None else None
        usable = self.settings.strategy == "stacked" and found is not None and found.any
        self._covariates = found if usable else None
        self._covariate_width = exog.width(self._covariates)

    def _covariate_rows(self, item: Series, origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per (origin, target) row: the known covariates at the target, the unknown ones at the
        origin (its last observed value: nothing after the origin is used)."""
        from models import exog

        known = exog.known_past(item)
        unknown = exog.unknown_history(item)
        last = len(item) - 1
        return np.hstack([known[np.clip(targets, 0, last)], unknown[np.clip(origins - 1, 0, last)]]).astype(
            np.float32
        )

    def _covariates_ahead(self, series: Sequence[Series]) -> np.ndarray:
        """Per (series, step) row of a forecast: known covariates ahead, unknown at the origin."""
        from models import exog

        blocks = []
        for item in series:
            unknown = exog.unknown_history(item)[-1:]
            ahead = exog.known_ahead(item, self.settings.horizon)
            blocks.append(np.hstack([ahead, np.repeat(unknown, self.settings.horizon, axis=0)]))
        return np.vstack(blocks).astype(np.float32)

    def _stacked_per_series(self, n_series: int) -> int:
        s = self.settings
        rows = min(s.max_rows, s.max_cells // self.stacked_features())
        return max(1, min(s.rows_per_series, rows // max(1, n_series)))

    def training_rows(self, series: Sequence[Series]) -> int:
        """How many rows a fit on ``series`` trains on (over all its regressors)."""
        s = self.settings
        windows = [len(e) for e in self._window_ends(series, 1)]
        self._use_covariates(series)
        if s.strategy == "stacked":
            per_series = self._stacked_per_series(len(series))
            return sum(min(per_series, w * s.horizon) for w in windows)
        if s.strategy == "direct":
            return sum(windows) * s.horizon
        return sum(windows)

    def _window_ends(self, series: Sequence[Series], future: int) -> list[np.ndarray]:
        """Per series, the end of each sampled window (window y[end - lags:end], ``future`` after)."""
        s = self.settings
        per_series = max(4, min(s.max_windows_per_series, s.max_rows // max(1, len(series))))
        ends = []
        for item in series:
            n = len(_padded(item.y, s.lags))
            ends.append(np.arange(s.lags, n - future + 1)[-per_series:])
        return ends

    def _windows(
        self, series: Sequence[Series], future: int
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Lag windows, the ``future`` values after each, and the target dates per series."""
        s = self.settings
        windows, targets, dates = [], [], []
        for item, ends in zip(series, self._window_ends(series, future), strict=True):
            if ends.size == 0:
                continue
            y = _padded(item.y, s.lags)
            windows.append(np.lib.stride_tricks.sliding_window_view(y, s.lags)[ends - s.lags])
            targets.append(np.lib.stride_tricks.sliding_window_view(y, future)[ends])
            if s.calendar:
                offset = len(y) - len(item.y)
                index = np.clip(ends[:, None] + np.arange(future) - offset, 0, len(item.ds) - 1)
                dates.append(np.asarray(item.ds)[index])
        if not windows:
            raise ForecastError(f"gbm: no series is longer than {future} observations")
        return np.vstack(windows), np.vstack(targets), dates

    def fit(self, series: Sequence[Series]) -> Self:
        from threadpoolctl import threadpool_limits

        # One OpenMP thread: parallelism comes from processes over series, and OpenMP's spinning
        # barriers on a busy machine made a two-thread fit many times slower than one thread.
        self._use_covariates(series)
        with threadpool_limits(1):
            if self.settings.strategy == "direct":
                return self._fit_direct(series)
            if self.settings.strategy == "stacked":
                return self._fit_stacked(series)
            return self._fit_recursive(series)

    def _stacked_rows(
        self,
        windows: np.ndarray,
        steps: np.ndarray,
        calendar: np.ndarray | None,
        covariates: np.ndarray | None = None,
    ) -> np.ndarray:
        """Features of (window, step) rows: target-indexed lags (NaN after the origin) and step."""
        s = self.settings
        x, _ = _features(windows)
        # Lags relative to the last value, newest first (the last value itself is always 0).
        newest_first = x[:, : s.lags - 1][:, ::-1]
        # Column d - 2 holds the value d steps before the target (d >= 2; d = step is the last
        # observed value, 0 on this scale); NaN where that lies after the forecast origin.
        lagged = np.full((len(windows), s.lags - 2 + s.horizon), np.nan, dtype=np.float32)
        for step in np.unique(steps):
            rows = steps == step
            lagged[rows, step - 1 : step - 1 + s.lags - 1] = newest_first[rows]
        columns = [lagged, steps[:, None].astype(np.float32), x[:, s.lags - 1 :].astype(np.float32)]
        if s.origin_lags:
            columns.append(x[:, : s.lags - 1].astype(np.float32))
        if calendar is not None:
            columns.append(calendar.astype(np.float32))
        if covariates is not None:
            columns.append(covariates)
        return np.hstack(columns)

    def _fit_stacked(self, series: Sequence[Series]) -> Self:
        s = self.settings
        rng = np.random.default_rng(s.seed)
        # At most rows_per_series (window, step) pairs per series, max_rows in all, and no more
        # than max_cells / features rows.
        per_series = self._stacked_per_series(len(series))
        windows, targets, steps, origins, dates, extra = [], [], [], [], [], []
        for item, ends in zip(series, self._window_ends(series, 1), strict=True):
            if ends.size == 0:
                continue
            y = _padded(item.y, s.lags)
            # Every (origin, step) pair with an actual, then a random sample of them.
            step_grid = np.arange(1, s.horizon + 1)
            pairs_end = np.repeat(ends, s.horizon)
            pairs_step = np.tile(step_grid, len(ends))
            valid = pairs_end + pairs_step - 1 < len(y)
            pairs_end, pairs_step = pairs_end[valid], pairs_step[valid]
            if len(pairs_end) > per_series:
                pick = rng.choice(len(pairs_end), per_series, replace=False)
                pairs_end, pairs_step = pairs_end[pick], pairs_step[pick]
            windows.append(np.lib.stride_tricks.sliding_window_view(y, s.lags)[pairs_end - s.lags])
            targets.append(y[pairs_end + pairs_step - 1])
            steps.append(pairs_step)
            origins.append(pairs_end)
            if s.calendar:
                offset = len(y) - len(item.y)
                index = np.clip(pairs_end + pairs_step - 1 - offset, 0, len(item.ds) - 1)
                dates.append(np.asarray(item.ds)[index])
            if self._covariates is not None:
                offset = len(y) - len(item.y)
                extra.append(
                    self._covariate_rows(item, pairs_end - offset, pairs_end + pairs_step - 1 - offset)
                )
        if not windows:
            raise ForecastError(f"gbm: no series is longer than {s.lags} observations")
        window = np.vstack(windows)
        step = np.concatenate(steps)
        calendar = _calendar(np.concatenate(dates)) if s.calendar else None
        x = self._stacked_rows(window, step, calendar, np.vstack(extra) if extra else None)
        scale = _scale(window)
        target = (np.concatenate(targets) - window[:, -1]) / scale
        # Hold out one origin in ten (all its steps): the spread of each step's errors there.
        held_out = np.concatenate(origins) % 10 == 9
        if held_out.sum() < 5 * s.horizon:
            held_out[:] = False
        model = _regressor(s)
        model.fit(x[~held_out], target[~held_out])  # type: ignore[attr-defined]
        self._models = [model]
        rows = held_out if held_out.any() else ~held_out
        errors = target[rows] - model.predict(x[rows])  # type: ignore[attr-defined]
        spread = np.array(
            [
                np.sqrt(np.mean(errors[step[rows] == h] ** 2)) if np.any(step[rows] == h) else np.nan
                for h in range(1, s.horizon + 1)
            ]
        )
        if np.isnan(spread).all():
            spread = np.full(s.horizon, float(np.sqrt(np.mean(errors**2))))
        # A step without held-out rows takes its predecessor's spread; it never shrinks with the step.
        spread = np.fmax.accumulate(np.where(np.isnan(spread), -np.inf, spread))
        self._error_scale = np.where(np.isfinite(spread), spread, np.nanmax(spread[np.isfinite(spread)]))
        return self

    def _fit_recursive(self, series: Sequence[Series]) -> Self:
        s = self.settings
        windows, future, dates = self._windows(series, 1)
        x, scale = _features(windows)
        if s.calendar:
            x = np.column_stack([x, _calendar(np.concatenate(dates).ravel())])
        target = (future[:, 0] - windows[:, -1]) / scale
        # Hold out every tenth window: the model is fitted once, on the other nine.
        held_out = np.arange(len(x)) % 10 == 9
        if held_out.sum() < 5:
            held_out[:] = False
        model = _regressor(s)
        model.fit(x[~held_out], target[~held_out])  # type: ignore[attr-defined]
        self._models = [model]
        spread = self._recursive_spread(series)
        if not np.isfinite(spread).all():
            # No window has a whole horizon of actuals: grow the one-step error like a random walk.
            rows = held_out if held_out.any() else ~held_out
            one_step = float(np.sqrt(np.mean((target[rows] - model.predict(x[rows])) ** 2)))  # type: ignore[attr-defined]
            spread = one_step * np.sqrt(np.arange(1, s.horizon + 1))
        self._error_scale = spread
        return self

    def _recursive_spread(self, series: Sequence[Series]) -> np.ndarray:
        """RMS scaled error of each step of the recursion, on windows with ``horizon`` actuals."""
        s = self.settings
        try:
            windows, future, dates = self._windows(series, s.horizon)
        except ForecastError:
            return np.full(s.horizon, np.nan)
        # A sample of every tenth window (the held-out ones are among them), at most 20,000.
        pick = np.arange(9, len(windows), 10) if len(windows) >= 50 else np.arange(len(windows))
        pick = pick[:: max(1, len(pick) // 20_000)]
        windows, future = windows[pick], future[pick]
        calendar = None
        if s.calendar:
            calendar = _calendar(np.concatenate(dates).reshape(-1)).reshape(-1, s.horizon, 4)[pick]
        means = self._recurse(windows, calendar)
        scale = _scale(windows)
        errors = (future - means) / scale[:, None]
        return np.maximum.accumulate(np.sqrt(np.mean(errors**2, axis=0)))  # never shrinks with the step

    def _recurse(self, windows: np.ndarray, calendar: np.ndarray | None) -> np.ndarray:
        """``horizon`` steps from each window (rows), each forecast fed back as the newest lag."""
        model = self._models[0]
        window = windows.astype(float, copy=True)
        out = np.empty((len(window), self.settings.horizon))
        for step in range(self.settings.horizon):
            x, scale = _features(window)
            if calendar is not None:
                x = np.column_stack([x, calendar[:, step]])
            out[:, step] = window[:, -1] + model.predict(x) * scale  # type: ignore[attr-defined]
            window = np.column_stack([window[:, 1:], out[:, step]])
        return out

    def _fit_direct(self, series: Sequence[Series]) -> Self:
        s = self.settings
        windows, future, dates = self._windows(series, s.horizon)
        x, scale = _features(windows)
        targets = (future - windows[:, -1:]) / scale[:, None]
        calendar = _calendar(np.concatenate(dates).ravel()).reshape(len(x), s.horizon, 4) if dates else None
        held_out = np.arange(len(x)) % 10 == 9
        if held_out.sum() < 5:
            held_out[:] = False
        self._models = []
        scales = np.zeros(s.horizon)
        for step in range(s.horizon):
            features = x if calendar is None else np.column_stack([x, calendar[:, step]])
            model = _regressor(s)
            target = targets[:, step]
            model.fit(features[~held_out], target[~held_out])  # type: ignore[attr-defined]
            fitted = features[held_out] if held_out.any() else features
            errors = (target[held_out] if held_out.any() else target) - model.predict(fitted)  # type: ignore[attr-defined]
            scales[step] = float(np.sqrt(np.mean(errors**2)))
            self._models.append(model)
        self._error_scale = np.maximum.accumulate(scales)
        return self

    def forecast(self, series: Sequence[Series]) -> dict[str, Forecast]:
        """Forecast ``horizon`` steps after the end of each series."""
        if not self._models:
            raise ForecastError("gbm: call fit() before forecast()")
        s = self.settings
        windows = np.vstack([_padded(item.y, s.lags)[-s.lags :] for item in series])
        calendar = None
        if s.calendar:
            future = np.concatenate([item.future_dates(s.horizon) for item in series])
            calendar = _calendar(future).reshape(len(series), s.horizon, 4)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            if s.strategy == "stacked":
                rows = np.repeat(windows, s.horizon, axis=0)
                steps = np.tile(np.arange(1, s.horizon + 1), len(windows))
                flat = None if calendar is None else calendar.reshape(-1, calendar.shape[-1])
                ahead = self._covariates_ahead(series) if self._covariates is not None else None
                deltas = self._models[0].predict(self._stacked_rows(rows, steps, flat, ahead))  # type: ignore[attr-defined]
                means = windows[:, -1:] + deltas.reshape(len(windows), s.horizon) * _scale(windows)[:, None]
            elif s.strategy == "direct":
                x, scale = _features(windows)
                deltas = np.column_stack(
                    [
                        model.predict(x if calendar is None else np.column_stack([x, calendar[:, step]]))  # type: ignore[attr-defined]
                        for step, model in enumerate(self._models)
                    ]
                )
                means = windows[:, -1:] + deltas * scale[:, None]
            else:
                means = self._recurse(windows, calendar)
        sigmas = _scale(windows)[:, None] * self._error_scale[None, :]
        return {item.series_id: Forecast(means[row], sigmas[row]) for row, item in enumerate(series)}


class LocalGBM(LocalForecaster):
    """The same regressor fitted on one series alone (when no pooled fit is available)."""

    name = "gbm"

    def __init__(self, season_length: int = 1, horizon: int = 0, lags: int = 0) -> None:
        super().__init__(season_length)
        self._horizon = horizon
        self._lags = lags

    @property
    def min_history(self) -> int:
        return 20

    def _fit(self, series: Series) -> None:
        self._fitted_on = series

    def _forecast(self, horizon: int) -> Forecast:
        horizon_trained = max(horizon, self._horizon)
        lags = self._lags or default_lags(horizon_trained, self.season_length)
        # A single series has few windows; shorten the lag window so there are some to learn from.
        lags = min(lags, max(4, (len(self._fitted_on) - horizon_trained) // 2))
        settings = GBMSettings(horizon=horizon_trained, lags=lags, max_windows_per_series=10_000)
        model = GlobalGBM(settings).fit([self._fitted_on])
        result = model.forecast([self._fitted_on])[self._fitted_on.series_id]
        return Forecast(result.mean[:horizon], result.sigma[:horizon])
