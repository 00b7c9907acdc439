"""Live accuracy of a stored forecast against arrived actuals, on values worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from models.bundle import ForecastBundle, SeriesForecast
from monitoring.accuracy import live_accuracy
from monitoring.drift import NoNewActuals

DATES = ["2024-01-05", "2024-01-06", "2024-01-07"]


def bundle() -> ForecastBundle:
    def series(sid: str, mean: float, sigma: float) -> SeriesForecast:
        return SeriesForecast(sid, "naive", DATES, [mean] * 3, [sigma] * 3, [], [])

    return ForecastBundle(
        model_name="m",
        freq="D",
        season_length=1,
        max_horizon=3,
        train_start="2024-01-01",
        train_end="2024-01-04",
        nonnegative=False,
        series={"A": series("A", 13.0, 1.0), "B": series("B", 100.0, 10.0)},
    )


def frame(rows: Sequence[tuple[str, str, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["series_id", "ds", "y"])
    df["ds"] = pd.to_datetime(df["ds"])
    return df


HISTORY = [
    # A: naive (m=1) in-sample errors 2, 1, 2 -> scale 5/3; B: 0, 4, 4 -> scale 8/3
    *[("A", f"2024-01-0{d}", v) for d, v in zip(range(1, 5), [10, 12, 11, 13], strict=True)],
    *[("B", f"2024-01-0{d}", v) for d, v in zip(range(1, 5), [100, 100, 104, 100], strict=True)],
]
NEW = [
    ("A", "2024-01-05", 14),  # error 1: inside both bands (z80 = 1.28, z95 = 1.96)
    ("A", "2024-01-06", 13),  # A's 2024-01-07 has not arrived yet
    ("B", "2024-01-05", 115),  # error 15: outside 80% (12.8), inside 95% (19.6)
    ("B", "2024-01-06", 100),
    ("B", "2024-01-07", 100),
    ("B", "2024-01-08", 500),  # past the forecast: not scored
    ("C", "2024-01-05", 7),  # a series the model does not know: not scored
]


def test_live_accuracy_hand_computed() -> None:
    result = live_accuracy(bundle(), frame(HISTORY + NEW), [80, 95])
    # MASE: A (1+0)/2 / (5/3) = 0.3; B (15+0+0)/3 / (8/3) = 1.875; mean over series
    assert result.mase == pytest.approx((0.3 + 1.875) / 2)
    assert result.wape == pytest.approx(100 * 16 / (14 + 13 + 115 + 100 + 100))
    assert result.coverage == {"80": pytest.approx(4 / 5), "95": pytest.approx(1.0)}
    assert (result.n_series, result.n_points) == (2, 5)
    assert (str(result.window_start), str(result.window_end)) == ("2024-01-05", "2024-01-07")


def test_window_caps_the_steps_scored() -> None:
    result = live_accuracy(bundle(), frame(HISTORY + NEW), [80], window=2)
    assert result.n_points == 4 and str(result.window_end) == "2024-01-06"
    assert set(result.coverage) == {"80"}


def test_no_actuals_after_training_says_so() -> None:
    with pytest.raises(NoNewActuals, match="ends 2024-01-04"):
        live_accuracy(bundle(), frame(HISTORY), [80, 95])
    with pytest.raises(NoNewActuals, match="no actuals yet for the 3 forecast steps"):
        live_accuracy(bundle(), frame([*HISTORY, ("B", "2024-01-09", 1.0)]), [80, 95])
