"""The engine's one set of defaults, shared by dataset specs, the CLI and benchmarks/m4.py.

Pure constants (no heavy imports), so the spec parser and the API can read them. Nothing here
is tuned to one data set: the candidates that cannot apply to a data set (``mstl`` without a
season length above 1) are dropped by the engine's plan with the reason logged, and the global
boosted trees bound their own training sample (``models.gbm``).
"""

from __future__ import annotations

CANDIDATES = ("naive2", "ets", "theta", "mstl", "gbm", "combo_mean", "combo_median")
# Every name a spec may list, so a typo is refused when the spec is read, not half a minute into
# training. ``models.zoo`` builds its table from the forecasters' own names; a unit test keeps the
# two equal.
FORECASTERS = ("seasonal_naive", "naive", "naive2", "ets", "arima", "theta", "prophet", "gbm", "mstl")
COMBINATIONS = ("combo_mean", "combo_median")
BACKTEST_WINDOWS = 4  # M4 Weekly: 2 windows OWA 0.710, 4: 0.686, 6: 0.692
LEVELS = (80.0, 95.0)
SELECTION_METRIC = "mase"
GBM_LOSS = "absolute_error"
GBM_STRATEGY = "stacked"
GBM_BACKTEST_FITS = "shared"  # one pooled fit for every backtest window (models.engine.pooled_fits)
