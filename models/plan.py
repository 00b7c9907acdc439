"""What a training run will fit: the candidates that apply to the data and fit the time budget.

Before any backtest the plan drops, each with a reason for the log (never silently):

- candidates that cannot apply: ``mstl`` when no declared season length above 1 has two full
  cycles in the longest series; combinations with fewer than two forecasters to combine;
- with a time budget (``TrainingConfig.time_budget``), the most expensive candidates until the
  projected time fits. Each candidate's cost is measured, not guessed: a local one is fitted on
  a few series spread over the lengths, the global boosted trees on a sample of their training
  windows, and the time is scaled to every series, every backtest window and the refit, over
  the worker processes. The cheapest candidate is always kept, so every series gets a forecast.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from models.frame import Series
from models.gbm import GlobalGBM
from models.mstl import usable_periods
from models.zoo import COMBINATIONS, GLOBAL_CANDIDATES, MULTI_SEASONAL, make_forecaster

if TYPE_CHECKING:
    from models.engine import TrainingConfig

PILOT_SERIES = 6  # local candidates are timed on this many series
PILOT_GBM_ROWS = 20_000  # the boosted trees are timed on this many training windows
SCORING_SECONDS = 0.0005  # per candidate, window and series: scoring and bookkeeping


@dataclass(frozen=True)
class Dropped:
    candidate: str
    reason: str


@dataclass(frozen=True)
class Plan:
    config: TrainingConfig
    dropped: tuple[Dropped, ...]
    projected_seconds: dict[str, float]  # per candidate, when a budget asked for projections


def applicable(config: TrainingConfig, series: list[Series]) -> tuple[TrainingConfig, list[Dropped]]:
    """The config without the candidates that cannot apply to these series."""
    dropped: list[Dropped] = []
    longest = max((len(s) for s in series), default=0)
    keep = list(config.candidates)
    for name in [c for c in keep if c in MULTI_SEASONAL]:
        if not usable_periods(config.periods, longest):
            keep.remove(name)
            dropped.append(
                Dropped(
                    name,
                    f"no season length above 1 with two full cycles in the longest series "
                    f"(season lengths {list(config.periods)}, {longest} observations)",
                )
            )
    base = [c for c in keep if c not in COMBINATIONS]
    if len(base) < 2:
        for name in [c for c in keep if c in COMBINATIONS]:
            keep.remove(name)
            dropped.append(Dropped(name, f"needs two forecasters to combine, the plan has {len(base)}"))
    return replace(config, candidates=tuple(keep)), dropped


def _pilot_series(series: list[Series]) -> list[Series]:
    """A few series spread over the range of lengths (the longest included)."""
    ordered = sorted(series, key=len)
    picks = np.unique(np.linspace(0, len(ordered) - 1, min(PILOT_SERIES, len(ordered))).round().astype(int))
    return [ordered[i] for i in picks]


def _local_seconds(name: str, config: TrainingConfig, sample: list[Series]) -> float:
    """Mean seconds of one fit and forecast of ``name`` over the sample."""
    started = time.perf_counter()
    for item in sample:
        # A failing fit still cost its time; the backtest reports the failure.
        with contextlib.suppress(Exception):
            make_forecaster(name, config.season_length, config.periods).fit(item).forecast(config.horizon)
    return (time.perf_counter() - started) / max(1, len(sample))


def _timed_fit(model: GlobalGBM, sample: list[Series]) -> float:
    started = time.perf_counter()
    try:
        model.fit(sample)
    except Exception:  # too short to fit: the real fit fails as fast
        return 0.0
    return time.perf_counter() - started


def _gbm_seconds(config: TrainingConfig, series: list[Series]) -> float:
    """Seconds of one pooled fit over every series, from a fit on a sample of its rows (in a
    worker process, as the real fits run)."""
    from models.engine import gbm_settings
    from models.parallel import worker_pool

    settings = gbm_settings(config)
    full_rows = GlobalGBM(settings).training_rows(series)
    per_series = max(1, full_rows // max(1, len(series)))
    sample = series[:: max(1, len(series) * per_series // PILOT_GBM_ROWS)]
    pilot = GlobalGBM(replace(settings, max_rows=min(settings.max_rows, PILOT_GBM_ROWS)))
    pilot_rows = pilot.training_rows(sample)
    with worker_pool(1) as pool:
        seconds = pool.submit(_timed_fit, pilot, sample).result()
    return seconds * max(1.0, full_rows / max(1, pilot_rows))


def within_budget(
    config: TrainingConfig,
    series: list[Series],
    workers: int,
    stage: Callable[[str], None] | None = None,
) -> Plan:
    """Drop the most expensive candidates until the projected time fits ``config.time_budget``."""
    config, dropped = applicable(config, series)
    if config.time_budget <= 0 or not series:
        return Plan(config, tuple(dropped), {})
    workers = max(1, workers)
    fits = config.backtest_windows + 1  # every backtest window and the refit
    sample = _pilot_series(series)
    projected: dict[str, float] = {}
    for name in (c for c in config.candidates if c not in COMBINATIONS):
        if name in GLOBAL_CANDIDATES and len(series) > 1:
            # The pooled fits run side by side: the backtest's (one shared, or one per window)
            # and the refit on everything (models.engine.pooled_fits).
            pooled = 2 if config.gbm_backtest_fits == "shared" else fits
            projected[name] = _gbm_seconds(config, series) * pooled / min(workers, pooled)
        else:
            projected[name] = _local_seconds(name, config, sample) * len(series) * fits / workers
        if stage:
            stage(f"plan: {name} projected at {projected[name]:.0f} s")
    per_candidate = SCORING_SECONDS * len(series) * fits / workers

    def total(names: list[str]) -> float:
        return sum(projected[n] for n in names) + per_candidate * (len(names) + 2)

    kept = [c for c in config.candidates if c not in COMBINATIONS]
    while len(kept) > 1 and total(kept) > config.time_budget:
        dearest = max(kept, key=lambda n: projected[n])
        before = total(kept)
        kept.remove(dearest)
        dropped.append(
            Dropped(
                dearest,
                f"projected {projected[dearest]:.0f} s of a projected {before:.0f} s total, "
                f"over the {config.time_budget:.0f} s time budget",
            )
        )
    if total(kept) > config.time_budget:
        dropped.append(
            Dropped(
                "",
                f"the {config.time_budget:.0f} s time budget is short even for {kept[0]} alone "
                f"(projected {total(kept):.0f} s); training it anyway so every series gets a forecast",
            )
        )
    names = [c for c in config.candidates if c in kept or (c in COMBINATIONS and len(kept) >= 2)]
    for name in (c for c in config.candidates if c in COMBINATIONS and len(kept) < 2):
        dropped.append(Dropped(name, "fewer than two forecasters left to combine"))
    return Plan(replace(config, candidates=tuple(names)), tuple(dropped), projected)
