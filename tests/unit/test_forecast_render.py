"""The uncached answer is written from templates, not dicts: it must be byte for byte what
pydantic-core writes for the SeriesForecastOut dicts, hostile strings and odd numbers included."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic_core import to_json

from models.bundle import ForecastBundle, SeriesForecast
from models.intervals import bands, scaled_bands, tail_ratio
from serving.forecasts import _render

HOSTILE = 'a"b\\c,"d","e</script>é\n'


def reference(
    bundle: ForecastBundle, ids: list[str], horizon: int, levels: list[float], history: bool
) -> list[bytes]:
    """The dict-per-step rendering the template replaced (what the API answered before)."""
    out = []
    for series_id in ids:
        entry = bundle.series[series_id]
        dates, yhat, level_bands = bundle.paths(series_id, horizon, levels)
        points = [
            {
                "ds": dates[step],
                "yhat": yhat[step],
                "intervals": [
                    {"level": lv, "lower": lo[step], "upper": up[step]} for lv, lo, up in level_bands
                ],
            }
            for step in range(horizon)
        ]
        past = (
            [{"ds": d, "y": v} for d, v in zip(entry.history_dates, entry.history_values, strict=True)]
            if history
            else None
        )
        out.append(
            to_json(
                {"series_id": series_id, "selected_model": entry.model, "points": points, "history": past}
            )
        )
    return out


def bundle(nonnegative: bool) -> ForecastBundle:
    series = {
        "plain": SeriesForecast(
            "plain",
            "ets",
            ["2024-01-01", "2024-01-08", "2024-01-15"],
            [10.5, -3.0, 1e16],
            [1.0, 2.0, 0.0],
            ["2023-12-18", "2023-12-25"],
            [9.0, 11],
        ),
        HOSTILE: SeriesForecast(
            HOSTILE,
            'mo"del\\',
            ['2024"01', "2024\\01", '","'],
            [float("nan"), -0.0, 5],
            [float("inf"), 1.0, 2.5],
            [],
            [],
        ),
        "ünïcode ✓": SeriesForecast(
            "ünïcode ✓",
            "theta",
            ["2024-01-01", "2024-01-08", "2024-01-15"],
            [0.1, 0.2, 0.3],
            [0.01, 0.02, 0.03],
            ['x","y'],
            [1e-7],
        ),
    }
    return ForecastBundle(
        "m", "W", 52, 3, "2020-01-01", "2023-12-25", nonnegative, series,
        interval_tails={"ets": {"80": 1.2, "95": 1.5}},
    )  # fmt: skip


@pytest.mark.parametrize("nonnegative", [True, False])
@pytest.mark.parametrize("levels", [[80.0, 95.0], [], [50.5], [99.9, 10.0, 60.0]])
@pytest.mark.parametrize("history", [False, True])
@pytest.mark.parametrize("horizon", [1, 3])
def test_byte_for_byte_the_dict_rendering(
    nonnegative: bool, levels: list[float], history: bool, horizon: int
) -> None:
    b = bundle(nonnegative)
    ids = ["plain", HOSTILE, "ünïcode ✓"]
    served: Any = SimpleNamespace(bundle=b)
    assert _render(served, ids, horizon, levels, history) == reference(b, ids, horizon, levels, history)


def test_a_hostile_series_stays_one_valid_json_object() -> None:
    served: Any = SimpleNamespace(bundle=bundle(True))
    parsed = json.loads(_render(served, [HOSTILE], 3, [80.0], True)[0].replace(b"NaN", b"null"))
    assert parsed["series_id"] == HOSTILE and parsed["selected_model"] == 'mo"del\\'
    assert [p["ds"] for p in parsed["points"]] == ['2024"01', "2024\\01", '","']


def test_scaled_bands_are_bands_with_the_multiplier_worked_out() -> None:
    mean, sigma = [1.0, -2.0, float("nan"), 0.0], [0.5, 1.0, 1.0, float("inf")]
    tails = {"80": 1.2, "95": 1.5}
    for level in (80.0, 90.0, 95.0):
        for floor in (None, 0.0):
            expected = bands(mean, sigma, level, floor, tail_ratio(tails, level))
            z = bundle(True).band_scales("ets", [level])[0]
            assert repr(scaled_bands(mean, sigma, z, floor)) == repr(expected)
            if floor is not None:  # the clipping is max(floor, bound), NaN included
                lower = [max(floor, m - z * s) for m, s in zip(mean, sigma, strict=True)]
                upper = [max(floor, m + z * s) for m, s in zip(mean, sigma, strict=True)]
                assert repr(expected) == repr((lower, upper))
