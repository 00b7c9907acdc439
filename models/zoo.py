"""The candidate forecasters by name, as dataset specs and the CLI refer to them."""

from __future__ import annotations

from collections.abc import Callable

from models.arima import AutoARIMA
from models.base import LocalForecaster
from models.baselines import Naive, SeasonalNaive
from models.ets import DampedETS
from models.gbm import LocalGBM
from models.naive2 import Naive2
from models.prophet_model import ProphetForecaster
from models.theta import Theta

CANDIDATES: dict[str, Callable[[int], LocalForecaster]] = {
    SeasonalNaive.name: SeasonalNaive,
    Naive.name: Naive,
    Naive2.name: Naive2,
    DampedETS.name: DampedETS,
    AutoARIMA.name: AutoARIMA,
    Theta.name: Theta,
    ProphetForecaster.name: ProphetForecaster,
    LocalGBM.name: LocalGBM,
}
# Fitted across all series at once when the engine trains many series (see engine.pool_forecasts);
# fitted on one series alone otherwise.
GLOBAL_CANDIDATES = frozenset({LocalGBM.name})
# Not forecasters of their own: the mean or median of the best few candidates by backtest score.
COMBINATIONS = ("combo_mean", "combo_median")
DEFAULT_CANDIDATES = ("seasonal_naive", "ets", "theta", "prophet")


def check_candidate(name: str) -> None:
    """Raise ValueError listing the choices if ``name`` is neither a forecaster nor a combination."""
    if name not in CANDIDATES and name not in COMBINATIONS:
        known = ", ".join(sorted([*CANDIDATES, *COMBINATIONS]))
        raise ValueError(f"unknown forecaster {name!r}; choose from: {known}")


def make_forecaster(name: str, season_length: int) -> LocalForecaster:
    try:
        factory = CANDIDATES[name]
    except KeyError:
        check_candidate(name)
        raise ValueError(f"{name!r} combines other candidates; it is not a forecaster of its own") from None
    return factory(season_length)
