"""Prediction intervals from a point forecast and the standard deviation of its error.

Pure Python (no NumPy) so that the serving process can compute bands without heavy imports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import pairwise
from statistics import NormalDist


@lru_cache(maxsize=256)
def z_score(level: float) -> float:
    """Two-sided normal quantile for a central interval of ``level`` percent."""
    if not 0 < level < 100:
        raise ValueError(f"interval level must be between 0 and 100 (exclusive), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 200.0)


def tail_ratio(tails: Mapping[str, float] | None, level: float) -> float:
    """How much wider than normal the calibrated ``level``% band is, relative to the reference
    level (``models.calibration``): linear between the trained levels, flat beyond them; 1 when
    the model was not calibrated."""
    if not tails:
        return 1.0
    points = sorted((float(k), float(v)) for k, v in tails.items())
    if level <= points[0][0]:
        return points[0][1]
    for (low, low_ratio), (high, high_ratio) in pairwise(points):
        if level <= high:
            return low_ratio + (high_ratio - low_ratio) * (level - low) / (high - low)
    return points[-1][1]


def bands(
    mean: Sequence[float],
    sigma: Sequence[float],
    level: float,
    floor: float | None = None,
    tail: float = 1.0,
) -> tuple[list[float], list[float]]:
    """Lower and upper bounds of the ``level``% interval; ``floor`` clips (e.g. 0 for demand);
    ``tail`` widens (or narrows) the normal band where calibration found other tails."""
    return scaled_bands(mean, sigma, z_score(level) * tail, floor)


def scaled_bands(
    mean: Sequence[float], sigma: Sequence[float], z: float, floor: float | None = None
) -> tuple[list[float], list[float]]:
    """``mean`` -/+ ``z`` x ``sigma``, clipped at ``floor``: ``bands`` once its multiplier is
    known (the API works it out once per request, not once per series)."""
    if floor is None:
        return [m - z * s for m, s in zip(mean, sigma, strict=True)], [
            m + z * s for m, s in zip(mean, sigma, strict=True)
        ]
    # One pass per bound, clipped inline: the API computes these per request when its cache is
    # off, and a max() call per number was most of that. Same values as max(floor, v), NaN
    # included (a NaN bound becomes the floor).
    lower = [v if (v := m - z * s) > floor else floor for m, s in zip(mean, sigma, strict=True)]
    upper = [v if (v := m + z * s) > floor else floor for m, s in zip(mean, sigma, strict=True)]
    return lower, upper
