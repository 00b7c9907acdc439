"""The candidate forecasters by name, as dataset specs and the CLI refer to them."""

from __future__ import annotations

from collections.abc import Callable

from models.base import LocalForecaster
from models.baselines import Naive, SeasonalNaive
from models.ets import DampedETS
from models.naive2 import Naive2
from models.prophet_model import ProphetForecaster
from models.theta import Theta

CANDIDATES: dict[str, Callable[[int], LocalForecaster]] = {
    SeasonalNaive.name: SeasonalNaive,
    Naive.name: Naive,
    Naive2.name: Naive2,
    DampedETS.name: DampedETS,
    Theta.name: Theta,
    ProphetForecaster.name: ProphetForecaster,
}
DEFAULT_CANDIDATES = ("seasonal_naive", "ets", "theta", "prophet")


def make_forecaster(name: str, season_length: int) -> LocalForecaster:
    try:
        factory = CANDIDATES[name]
    except KeyError:
        known = ", ".join(sorted(CANDIDATES))
        raise ValueError(f"unknown forecaster {name!r}; choose from: {known}") from None
    return factory(season_length)
