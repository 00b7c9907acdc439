"""The portal's Plotly figures as built from API payloads: markers and time axes (issue 19)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

import plotly.graph_objects as go

from portal import charts
from portal.api_types import AccuracyPointOut, BacktestOut, ForecastVsActualOut, SeriesForecastOut


def forecast(steps: int, history_days: int = 0) -> SeriesForecastOut:
    start = date(2013, 12, 31)
    points = [
        {
            "ds": (start + timedelta(days=i)).isoformat(),
            "yhat": 100.0 + i,
            "intervals": [
                {"level": level, "lower": 100.0 + i - width, "upper": 100.0 + i + width}
                for level, width in ((80.0, 5.0), (95.0, 9.0))
            ],
        }
        for i in range(steps)
    ]
    history = [
        {"ds": (start - timedelta(days=history_days - i)).isoformat(), "y": 90.0 + i}
        for i in range(history_days)
    ]
    return cast(
        SeriesForecastOut,
        {"series_id": "ATL", "selected_model": "ets", "points": points, "history": history or None},
    )


def drawn_mode(trace: Any) -> str:
    # plotly.js' default when a scatter trace sets no mode: markers too under 20 points.
    return str(trace.mode or ("lines+markers" if len(trace.x) < 20 else "lines"))


def test_a_14_step_forecast_draws_lines_and_bands_without_markers() -> None:
    fig = charts.forecast_chart(forecast(14, history_days=14), [80, 95])
    assert len(fig.data) == 6  # actuals, two band edges per level, forecast
    assert {drawn_mode(t) for t in fig.data} == {"lines"}, [(t.name, drawn_mode(t)) for t in fig.data]


def test_a_one_point_forecast_shows_its_point() -> None:
    fig = charts.forecast_chart(forecast(1), [80])
    line = next(t for t in fig.data if t.name == "forecast")
    assert "markers" in drawn_mode(line)  # a line through one point is invisible


def axis(fig: go.Figure) -> dict[str, Any]:
    return cast(dict[str, Any], fig.to_plotly_json()["layout"]["xaxis"])


def test_a_one_point_forecast_axis_spans_days_labelled_with_the_date() -> None:
    xaxis = axis(charts.forecast_chart(forecast(1), [80]))
    assert xaxis["type"] == "date"
    assert xaxis["range"] == ["2013-12-30T00:00:00", "2014-01-01T00:00:00"]
    assert (xaxis["tickvals"], xaxis["ticktext"]) == (["2013-12-31T00:00:00"], ["2013-12-31"])


def test_one_drift_check_or_evaluation_is_labelled_to_the_minute_not_the_millisecond() -> None:
    drift = charts.drift_history_chart(
        [{"created_at": "2026-11-26T17:27:14.786000+00:00", "drift_share": 0.73}]
    )
    accuracy = charts.accuracy_chart(
        [
            cast(
                AccuracyPointOut,
                {
                    "evaluated_at": "2026-11-26T17:27:14.786000",
                    "model_version": "1",
                    "mase": 0.8,
                    "wape": 12.0,
                },
            )
        ]
    )
    for fig in (drift, accuracy):
        xaxis = axis(fig)
        assert xaxis["range"] == ["2026-11-25T17:27:14.786000", "2026-11-27T17:27:14.786000"]
        assert xaxis["ticktext"] == ["2026-11-26 17:27"]


def test_charts_with_several_instants_keep_plotlys_own_axis() -> None:
    history = [
        {"created_at": "2026-11-26T17:27:14+00:00", "drift_share": 0.7},
        {"created_at": "2026-11-27T17:27:14+00:00", "drift_share": 0.2},
    ]
    assert "range" not in axis(charts.drift_history_chart(history))
    assert "range" not in axis(charts.forecast_chart(forecast(14), [80]))


def review(arrived: int, steps: int = 7) -> ForecastVsActualOut:
    start = date(2013, 12, 4)
    points = [
        {
            "ds": (start + timedelta(days=i)).isoformat(),
            "yhat": 30.0 + i,
            "lower": 26.0 + i,
            "upper": 34.0 + i,
            "y": 31.0 + i if i < arrived else None,
        }
        for i in range(steps)
    ]
    return cast(
        ForecastVsActualOut,
        {
            "model": "nyc_flights", "version": "3", "snapshot_id": None, "origin": "2013-12-04",
            "series_id": "ATL", "selected_model": "ets", "level": 80.0, "actuals_end": "2013-12-06",
            "points": points, "arrived": arrived, "mae": 1.0 if arrived else None,
            "wape": 3.2 if arrived else None, "inside": 1.0 if arrived else None,
        },
    )  # fmt: skip


def test_arrived_actuals_are_drawn_over_the_forecast_and_stop_where_they_stop() -> None:
    fig = charts.forecast_vs_actual_chart(review(arrived=3))
    names = [t.name for t in fig.data]
    assert names == [None, "80% interval", "forecast", "actual (arrived)"]  # drawn last: on top
    actual = fig.data[-1]
    assert list(actual.y) == [31.0, 32.0, 33.0, None, None, None, None]  # a gap, not a drop to zero
    assert actual.connectgaps is False and "markers" in drawn_mode(actual)
    assert {drawn_mode(t) for t in fig.data[:3]} == {"lines"}  # the forecast and band stay calm
    rows = charts.forecast_vs_actual_rows(review(arrived=3))
    assert rows[0] == {
        "ds": "2013-12-04", "forecast": 30.0, "lower_80": 26.0, "upper_80": 34.0, "actual": 31.0, "error": -1.0
    }  # fmt: skip
    assert rows[-1]["actual"] is None and rows[-1]["error"] is None


def test_a_forecast_with_no_actuals_yet_draws_no_actual_trace() -> None:
    fig = charts.forecast_vs_actual_chart(review(arrived=0))
    assert "actual (arrived)" not in [t.name for t in fig.data]


def backtest(windows: int = 3, steps: int = 7) -> BacktestOut:
    start = date(2013, 10, 1)
    out = []
    for w in range(windows):
        first = start + timedelta(days=steps * w)
        out.append(
            {
                "window": w, "cutoff": (first - timedelta(days=1)).isoformat(), "model": "ets",
                "mase": 0.8 + w / 10, "smape": 4.0, "wape": None if w == 2 else 3.9,
                "points": [
                    {"ds": (first + timedelta(days=i)).isoformat(), "y": 20.0 + i, "yhat": 21.0 + i}
                    for i in range(steps)
                ],
            }
        )  # fmt: skip
    return cast(BacktestOut, {"model": "nyc_flights", "version": "3", "series_id": "ATL", "windows": out})


def test_backtest_windows_share_one_actual_line_and_one_legend_entry() -> None:
    fig = charts.backtest_windows_chart(backtest())
    actual, *forecasts = fig.data
    assert actual.name == "actual" and len(actual.x) == 21 and list(actual.x) == sorted(actual.x)
    assert len(forecasts) == 3 and [t.showlegend for t in forecasts] == [True, False, False]
    assert {drawn_mode(t) for t in forecasts} == {"lines"}
    assert "MASE 0.90" in forecasts[1].hovertemplate
    origins = [shape["x0"] for shape in fig.to_plotly_json()["layout"]["shapes"]]
    assert origins == ["2013-09-30", "2013-10-07", "2013-10-14"]  # a dotted line at each cutoff
    rows = charts.backtest_rows(backtest())
    assert [r["window"] for r in rows] == [1, 2, 3] and rows[2]["WAPE %"] is None
    assert rows[0] == {
        "window": 1,
        "fitted to": "2013-09-30",
        "model": "ets",
        "MASE": 0.8,
        "sMAPE %": 4.0,
        "WAPE %": 3.9,
    }
