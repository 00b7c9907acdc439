"""The portal's Plotly figures as built from API payloads: markers and time axes (issue 19)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

import plotly.graph_objects as go

from portal import charts
from portal.api_types import AccuracyPointOut, SeriesForecastOut


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
