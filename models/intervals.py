"""Prediction intervals from a point forecast and the standard deviation of its error.

Pure Python (no NumPy) so that the serving process can compute bands without heavy imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from statistics import NormalDist


@lru_cache(maxsize=256)
def z_score(level: float) -> float:
    """Two-sided normal quantile for a central interval of ``level`` percent."""
    if not 0 < level < 100:
        raise ValueError(f"interval level must be between 0 and 100 (exclusive), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 200.0)


def bands(
    mean: Sequence[float], sigma: Sequence[float], level: float, floor: float | None = None
) -> tuple[list[float], list[float]]:
    """Lower and upper bounds of the ``level``% interval; ``floor`` clips (e.g. 0 for demand)."""
    z = z_score(level)
    lower = [m - z * s for m, s in zip(mean, sigma, strict=True)]
    upper = [m + z * s for m, s in zip(mean, sigma, strict=True)]
    if floor is not None:
        lower = [max(floor, v) for v in lower]
        upper = [max(floor, v) for v in upper]
    return lower, upper
