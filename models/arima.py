"""Automatic (S)ARIMA: differencing by unit-root tests, ARMA orders by a stepwise AIC search.

The order search follows Hyndman & Khandakar (2008, ``auto.arima``): regular differences from
repeated KPSS tests (statsmodels), a seasonal difference when the series passes the M4 90%
seasonality test, then a stepwise walk over (p, q) that keeps the lowest AICc. Each candidate
order is fitted by conditional sum of squares with ``scipy.signal.lfilter`` (auto.arima's own
approximation for long series), which is two orders of magnitude faster than a state-space MLE
and keeps a backtest of hundreds of series inside minutes. Forecast variance comes from the
psi weights of the full (differenced) model, statsmodels' ``arma2ma``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import lfilter

from models.base import Forecast, ForecastError, LocalForecaster
from models.frame import Series
from models.naive2 import is_seasonal

MAX_P = 3
MAX_Q = 3
MAX_D = 2


def regular_differences(y: np.ndarray, alpha: float = 0.05) -> int:
    """How many first differences make ``y`` level-stationary by the KPSS test (at most 2)."""
    from statsmodels.tsa.stattools import kpss

    d = 0
    x = np.asarray(y, dtype=float)
    while d < MAX_D and len(x) > 10 and np.ptp(x) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kpss warns when the p-value is off its table
            p_value = kpss(x, regression="c", nlags="auto")[1]
        if p_value >= alpha:
            break
        d += 1
        x = np.diff(x)
    return d


def _stable(poly: np.ndarray) -> bool:
    """True when every root of 1 + c1 z + ... lies outside the unit circle."""
    if len(poly) <= 1 or not np.any(poly[1:]):
        return True
    return bool(np.all(np.abs(np.roots(poly[::-1])) > 1.0 + 1e-6))


class _ArmaFit:
    """An ARMA(p, q) fitted by conditional sum of squares to a zero-mean series."""

    def __init__(self, w: np.ndarray, p: int, q: int) -> None:
        self.p, self.q = p, q
        start = max(p, q)

        def residuals(params: np.ndarray) -> np.ndarray:
            ar = np.r_[1.0, -params[:p]]
            ma = np.r_[1.0, params[p:]]
            return np.asarray(lfilter(ar, ma, w)[start:])

        if p + q == 0:
            self.params = np.zeros(0)
            value = float(w[start:] @ w[start:])
        else:
            # Levenberg-Marquardt (MINPACK) on the residual vector: the CSS problem is least squares.
            result = least_squares(residuals, np.full(p + q, 0.1), method="lm", max_nfev=200 * (p + q))
            self.params = result.x
            value = float(2.0 * result.cost) if np.all(np.isfinite(result.fun)) else np.inf
        n = len(w) - start
        self.sigma2 = value / max(n, 1)
        k = p + q + 1
        self.ok = (
            np.isfinite(value)
            and self.sigma2 > 0
            and _stable(np.r_[1.0, -self.params[:p]])
            and _stable(np.r_[1.0, self.params[p:]])
        )
        # AICc of the Gaussian likelihood at the CSS estimate.
        loglik = -0.5 * n * (np.log(2 * np.pi * max(self.sigma2, 1e-300)) + 1)
        self.aicc = -2 * loglik + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else np.inf)
        if not self.ok:
            self.aicc = np.inf

    @property
    def ar(self) -> np.ndarray:
        return np.asarray(self.params[: self.p])

    @property
    def ma(self) -> np.ndarray:
        return np.asarray(self.params[self.p :])


def stepwise_search(w: np.ndarray) -> _ArmaFit:
    """auto.arima's stepwise walk: four starting orders, then +-1 moves while AICc improves."""
    fits: dict[tuple[int, int], _ArmaFit] = {}

    def fit(p: int, q: int) -> _ArmaFit:
        if (p, q) not in fits:
            fits[(p, q)] = _ArmaFit(w, p, q)
        return fits[(p, q)]

    best = min((fit(p, q) for p, q in [(2, 2), (0, 0), (1, 0), (0, 1)]), key=lambda f: f.aicc)
    improved = True
    while improved:
        improved = False
        for dp, dq in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1)]:
            p, q = best.p + dp, best.q + dq
            if 0 <= p <= MAX_P and 0 <= q <= MAX_Q and (p, q) not in fits:
                candidate = fit(p, q)
                if candidate.aicc < best.aicc:
                    best, improved = candidate, True
    return best


class AutoARIMA(LocalForecaster):
    """ARIMA(p,d,q)(0,D,0)m with automatic orders; a drift term when at most one difference.

    With known covariates (calendar one-hot, holiday flags, known columns) it is a regression
    with ARIMA errors, fitted in two steps: least squares of y on the covariates, then the
    automatic ARIMA on what they leave (the errors); the forecast adds the covariates' part at
    each future date. Unknown covariates are ignored (their future values do not exist)."""

    name = "arima"

    @property
    def min_history(self) -> int:
        return 10

    def _fit(self, series: Series) -> None:
        from models.exog import known_past

        y = np.asarray(series.y, dtype=float)
        self._beta: np.ndarray | None = None
        self._covariate_series = series
        design = known_past(series, onehot=True)
        if design.shape[1]:
            # Keep only columns that vary on this history (a holiday-free window, a constant price).
            self._varying = np.ptp(design, axis=0) > 0
            x = design[:, self._varying]
            if x.shape[1] and len(y) > 2 * (x.shape[1] + 1):
                x1 = np.column_stack([np.ones(len(y)), x])
                beta, *_ = np.linalg.lstsq(x1, y, rcond=None)
                self._beta = beta[1:]
                y = y - x @ self._beta
        self._fit_errors(y)

    def _fit_errors(self, y: np.ndarray) -> None:
        from statsmodels.tsa.arima_process import arma2ma

        m = self.season_length
        seasonal = m > 1 and is_seasonal(y, m)
        x = y
        # The full differencing polynomial (1 - B)^d (1 - B^m)^D, as coefficients of B^0..B^k.
        poly = np.array([1.0])
        if seasonal:
            poly = np.convolve(poly, np.r_[1.0, np.zeros(m - 1), -1.0])
            x = x[m:] - x[:-m]
        d = regular_differences(x)
        for _ in range(d):
            poly = np.convolve(poly, [1.0, -1.0])
            x = np.diff(x)
        if len(x) < 8:
            raise ForecastError(f"arima: {len(x)} observations left after differencing; too short")
        # A mean (drift, once integrated) only when it is clearly non-zero, as auto.arima allows
        # it only with at most one difference.
        mean = float(np.mean(x))
        spread = float(np.std(x))
        use_mean = (int(seasonal) + d) <= 1 and abs(mean) > 2 * spread / np.sqrt(len(x))
        self._mean = mean if use_mean else 0.0
        w = x - self._mean
        arma = stepwise_search(w)
        if not np.isfinite(arma.aicc):
            raise ForecastError("arima: no stable ARMA order found")
        self._arma = arma
        self.order = (arma.p, d, arma.q)
        self.seasonal_difference = int(seasonal)
        phi = np.r_[1.0, -arma.ar]
        theta = np.r_[1.0, arma.ma]
        self._full_ar = np.convolve(phi, poly)  # A(B) y_t = c + theta(B) e_t
        self._theta = theta
        self._intercept = self._mean * float(phi.sum())
        self._residuals = lfilter(phi, theta, w)
        self._y = y
        self._sigma2 = arma.sigma2
        self._arma2ma = arma2ma

    def _forecast(self, horizon: int) -> Forecast:
        a = self._full_ar
        k = len(a) - 1
        q = len(self._theta) - 1
        history = list(self._y[-k:]) if k else []
        errors = list(self._residuals[-q:]) if q else []
        mean = np.empty(horizon)
        for step in range(horizon):
            value = self._intercept
            for i in range(1, k + 1):
                value -= a[i] * history[-i]
            for j in range(1, q + 1):
                # Future shocks are zero; past ones are the in-sample residuals.
                past = step - j
                if past < 0 and -past <= len(errors):
                    value += self._theta[j] * errors[past]
            mean[step] = value
            history.append(value)
        psi = self._arma2ma(a, self._theta, lags=horizon)
        sigma = np.sqrt(self._sigma2 * np.cumsum(psi**2))
        if self._beta is not None:
            from models.exog import known_ahead

            ahead = known_ahead(self._covariate_series, horizon, onehot=True)[:, self._varying]
            mean = mean + ahead @ self._beta
        return Forecast(mean, sigma)
