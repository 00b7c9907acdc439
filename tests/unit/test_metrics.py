"""Metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from models import metrics


def test_smape_hand_computed() -> None:
    # |100-110| / (100+110) * 2 = 0.095238; |50-40| / 90 * 2 = 0.222222; mean * 100
    assert metrics.smape(np.array([100.0, 50.0]), np.array([110.0, 40.0])) == pytest.approx(
        15.873016, rel=1e-6
    )


def test_smape_zero_over_zero_is_zero() -> None:
    assert metrics.smape(np.array([0.0, 10.0]), np.array([0.0, 10.0])) == 0.0


def test_mase_uses_seasonal_naive_scale() -> None:
    insample = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 7.0])  # m=2: diffs 2,2,2,3 -> scale 2.25
    actual, forecast = np.array([8.0, 9.0]), np.array([7.0, 12.0])  # errors 1, 3 -> mae 2
    assert metrics.mase(actual, forecast, insample, season_length=2) == pytest.approx(2 / 2.25)


def test_rmsse_hand_computed() -> None:
    insample = np.array([1.0, 2.0, 4.0])  # m=1: diffs 1, 2 -> mean square 2.5
    assert metrics.rmsse(np.array([5.0]), np.array([2.0]), insample, 1) == pytest.approx(math.sqrt(9 / 2.5))


def test_wape_hand_computed() -> None:
    assert metrics.wape(np.array([10.0, 30.0]), np.array([12.0, 27.0])) == pytest.approx(100 * 5 / 40)


def test_coverage_counts_bounds_inclusive() -> None:
    actual = np.array([1.0, 5.0, 10.0, 20.0])
    assert metrics.coverage(actual, np.array([0, 5, 11, 0.0]), np.array([2, 6, 12, 19.0])) == 0.5


def test_msis_hand_computed() -> None:
    insample = np.array([0.0, 1.0, 2.0])  # m=1 scale 1
    # width 2 each; second actual 5 is 2 above upper 3 -> penalty 2/0.05*2 = 80
    value = metrics.msis(np.array([1.0, 5.0]), np.array([0.0, 1.0]), np.array([2.0, 3.0]), insample, 1)
    assert value == pytest.approx((2 + 2 + 80) / 2)


def test_pinball_hand_computed() -> None:
    # q=0.9: under-forecast by 2 costs 1.8; over-forecast by 1 costs 0.1
    assert metrics.pinball(np.array([10.0, 10.0]), np.array([8.0, 11.0]), 0.9) == pytest.approx(
        (1.8 + 0.1) / 2
    )


def test_flat_history_keeps_mase_finite() -> None:
    assert math.isfinite(metrics.mase(np.array([5.0]), np.array([4.0]), np.full(10, 5.0), 1))


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="must be equal"):
        metrics.smape(np.array([1.0, 2.0]), np.array([1.0]))


def test_owa_relative_to_naive2() -> None:
    # sMAPE 8 vs 10 -> 0.8; MASE 3 vs 2 -> 1.5; mean 1.15
    assert metrics.owa(8.0, 3.0, 10.0, 2.0) == pytest.approx(1.15)
    assert metrics.owa(9.161, 2.777, 9.161, 2.777) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="positive"):
        metrics.owa(1.0, 1.0, 0.0, 1.0)


def test_msis_is_scaled_by_seasonal_naive_error() -> None:
    insample = np.array([0.0, 2.0, 4.0, 6.0])  # m=2: diffs 4, 4 -> scale 4
    value = metrics.msis(np.array([1.0]), np.array([0.0]), np.array([4.0]), insample, 2, alpha=0.2)
    assert value == pytest.approx(4.0 / 4)  # inside the band: only its width counts


def test_pinball_median_is_half_absolute_error() -> None:
    actual, forecast = np.array([3.0, 7.0, 1.0]), np.array([5.0, 4.0, 1.0])
    assert metrics.pinball(actual, forecast, 0.5) == pytest.approx(0.5 * np.mean([2, 3, 0]))
