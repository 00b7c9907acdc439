"""The candidate forecasters by name, as dataset specs and the CLI refer to them."""

from __future__ import annotations

from collections.abc import Callable

from models import defaults
from models.arima import AutoARIMA
from models.base import LocalForecaster
from models.baselines import Naive, SeasonalNaive
from models.gbm import LocalGBM
from models.mstl import MSTLForecaster
from models.naive2 import Naive2
from models.prophet_model import ProphetForecaster
from models.smoothing import DampedETS, Theta

CANDIDATES: dict[str, Callable[[int], LocalForecaster]] = {
    SeasonalNaive.name: SeasonalNaive,
    Naive.name: Naive,
    Naive2.name: Naive2,
    DampedETS.name: DampedETS,
    AutoARIMA.name: AutoARIMA,
    Theta.name: Theta,
    ProphetForecaster.name: ProphetForecaster,
    LocalGBM.name: LocalGBM,
    MSTLForecaster.name: MSTLForecaster,
}
# Fitted across all series at once when the engine trains many series (see engine.pool_forecasts);
# fitted on one series alone otherwise.
GLOBAL_CANDIDATES = frozenset({LocalGBM.name})
# Candidates that model every declared season length, not only the first.
MULTI_SEASONAL = frozenset({MSTLForecaster.name})
# Not forecasters of their own: the mean or median of the best few candidates by backtest score.
COMBINATIONS = defaults.COMBINATIONS
# The one default list (models/defaults.py): what `train` runs when a spec names no candidates,
# and what benchmarks/m4.py runs.
DEFAULT_CANDIDATES = defaults.CANDIDATES


def check_candidate(name: str) -> None:
    """Raise ValueError listing the choices if ``name`` is neither a forecaster nor a combination."""
    if name not in CANDIDATES and name not in COMBINATIONS:
        known = ", ".join(sorted([*CANDIDATES, *COMBINATIONS]))
        raise ValueError(f"unknown forecaster {name!r}; choose from: {known}")


def make_forecaster(name: str, season_length: int, periods: tuple[int, ...] = ()) -> LocalForecaster:
    """The named forecaster; ``periods`` are all declared season lengths (for multi-seasonal ones)."""
    try:
        factory = CANDIDATES[name]
    except KeyError:
        check_candidate(name)
        raise ValueError(f"{name!r} combines other candidates; it is not a forecaster of its own") from None
    if name in MULTI_SEASONAL:
        return MSTLForecaster(season_length, periods or (season_length,))
    return factory(season_length)
