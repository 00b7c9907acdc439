"""Plotly figures and tables of the portal, built from API payloads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from portal.api_types import (
    AccuracyPointOut,
    BacktestOut,
    ForecastVsActualOut,
    SelectionRow,
    SeriesForecastOut,
    VersionOut,
)
from portal.theme import ACCENT, INK, MUTED, OK, WARN

# Backtest metrics shown for a version, in order, with "lower is better" except coverage.
VERSION_METRICS = {
    "backtest_mase": "MASE",
    "backtest_smape": "sMAPE %",
    "backtest_wape": "WAPE %",
    "backtest_rmsse": "RMSSE",
    "backtest_coverage_80": "coverage 80%",
    "backtest_coverage_95": "coverage 95%",
}

_BAND_ALPHA = {0: 0.10, 1: 0.20, 2: 0.28, 3: 0.34, 4: 0.40}


def _add_band(
    fig: Any, dates: list[Any], lower: list[Any], upper: list[Any], level: float, alpha: float
) -> None:
    """One interval band: an invisible upper edge, then the lower edge filled up to it."""
    fig.add_trace(
        go.Scatter(x=dates, y=upper, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
    )
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=lower,
            mode="lines",
            fill="tonexty",
            line={"width": 0},
            name=f"{level:g}% interval",
            fillcolor=f"rgba(79,70,229,{alpha})",
        )
    )


def forecast_rows(item: SeriesForecastOut) -> list[dict[str, Any]]:
    rows = []
    for point in item["points"]:
        row = {"series_id": item["series_id"], "ds": point["ds"], "yhat": point["yhat"]}
        for interval in point["intervals"]:
            row[f"lower_{interval['level']:g}"] = interval["lower"]
            row[f"upper_{interval['level']:g}"] = interval["upper"]
        rows.append(row)
    return rows


def _layout(fig: go.Figure, height: int = 420) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(255,255,255,0.55)",
        font={"color": INK},
        legend={"orientation": "h", "y": 1.08, "x": 0},
        hovermode="x unified",
    )
    fig.update_xaxes(gridcolor="rgba(148,163,184,0.25)")
    fig.update_yaxes(gridcolor="rgba(148,163,184,0.25)")
    return fig


def _line_mode(n_points: int) -> str:
    # Plotly's default draws markers on every trace under 20 points (band edges included): only a
    # lone point needs a marker, since a line through one point is invisible.
    return "markers" if n_points == 1 else "lines"


def _single_instant_axis(fig: go.Figure) -> go.Figure:
    """A time axis holding one instant gets a day either side and that instant as its only label.

    Left alone, Plotly zooms a lone date to a few milliseconds and labels it "17:27:14.7855".
    """
    instants = {str(x) for trace in fig.data if trace.x is not None for x in trace.x}
    if len(instants) != 1:
        return fig
    try:
        # Plotly reads a date string's wall time and ignores its offset: do the same.
        at = datetime.fromisoformat(instants.pop()).replace(tzinfo=None)
    except ValueError:
        return fig
    label = at.strftime("%Y-%m-%d") if at.time() == datetime.min.time() else at.strftime("%Y-%m-%d %H:%M")
    fig.update_xaxes(
        type="date",
        range=[(at - timedelta(days=1)).isoformat(), (at + timedelta(days=1)).isoformat()],
        tickmode="array",
        tickvals=[at.isoformat()],
        ticktext=[label],
    )
    return fig


def forecast_chart(item: SeriesForecastOut, levels: Sequence[float]) -> go.Figure:
    fig = go.Figure()
    history = item.get("history") or []
    if history:
        fig.add_trace(
            go.Scatter(
                x=[h["ds"] for h in history],
                y=[h["y"] for h in history],
                name="actuals",
                mode=_line_mode(len(history)),
                line={"color": MUTED, "width": 1.4},
            )
        )
    dates = [p["ds"] for p in item["points"]]
    # Widest band first so narrower, darker bands sit on top.
    for rank, level in enumerate(sorted(levels, reverse=True)):
        lower = [next(i["lower"] for i in p["intervals"] if i["level"] == level) for p in item["points"]]
        upper = [next(i["upper"] for i in p["intervals"] if i["level"] == level) for p in item["points"]]
        _add_band(fig, dates, lower, upper, level, _BAND_ALPHA.get(rank, 0.4))
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=[p["yhat"] for p in item["points"]],
            name="forecast",
            mode=_line_mode(len(dates)),
            line={"color": ACCENT, "width": 2.2},
        )
    )
    return _single_instant_axis(_layout(fig))


def drift_features_chart(features: Sequence[Any]) -> go.Figure:
    ordered = sorted(features, key=lambda f: f["score"])
    fig = go.Figure(
        go.Bar(
            x=[f["score"] for f in ordered],
            y=[f["feature"] for f in ordered],
            orientation="h",
            marker={"color": [WARN if f["drifted"] else OK for f in ordered]},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="test p-value (orange: drifted)")
    return _layout(fig, height=max(300, 22 * len(ordered)))


def drift_history_chart(history: Sequence[Any], threshold: float | None = None) -> go.Figure:
    ordered = sorted(history, key=lambda r: r["created_at"])
    fig = go.Figure(
        go.Scatter(
            x=[r["created_at"] for r in ordered],
            y=[r["drift_share"] for r in ordered],
            mode="lines+markers",
            line={"color": ACCENT},
            name="drifted share",
        )
    )
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dot", line_color=WARN)
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return _single_instant_axis(_layout(fig, height=260))


def versions_rows(versions: Sequence[VersionOut]) -> list[dict[str, Any]]:
    rows = []
    for v in versions:
        row: dict[str, Any] = {
            "version": f"v{v['version']}",
            "aliases": ", ".join(v["aliases"]),
            "created": v["created_at"][:16].replace("T", " "),
        }
        row.update({label: v["metrics"].get(key) for key, label in VERSION_METRICS.items()})
        row["gate"] = v["gate"] or ""
        rows.append(row)
    return rows


def comparison_rows(first: VersionOut, second: VersionOut) -> list[dict[str, Any]]:
    """Backtest metrics of two versions side by side, and which one the metric favours."""
    rows = []
    for key, label in VERSION_METRICS.items():
        a, b = first["metrics"].get(key), second["metrics"].get(key)
        if a is None and b is None:
            continue
        better = ""
        if a is not None and b is not None and a != b:
            if key.startswith("backtest_coverage_"):
                nominal = float(key.rsplit("_", 1)[1]) / 100  # closer to the nominal level is better
                wins = abs(a - nominal) < abs(b - nominal)
            else:
                wins = a < b
            better = f"v{first['version']}" if wins else f"v{second['version']}"
        rows.append(
            {
                "metric": label,
                f"v{first['version']}": a,
                f"v{second['version']}": b,
                "difference": (a - b) if a is not None and b is not None else None,
                "better": better,
            }
        )
    return rows


def backtest_chart(versions: Sequence[VersionOut]) -> go.Figure:
    """Each candidate forecaster's backtest MASE in the newest version: why the selection chose."""
    newest = versions[0] if versions else None
    candidates = sorted(
        (
            (key.removeprefix("candidate_").removesuffix("_mase"), value)
            for key, value in (newest["metrics"] if newest else {}).items()
            if key.startswith("candidate_") and key.endswith("_mase")
        ),
        key=lambda kv: kv[1],
    )
    fig = go.Figure(
        go.Bar(
            x=[name for name, _ in candidates],
            y=[value for _, value in candidates],
            marker={"color": ACCENT},
            hovertemplate="%{x}: MASE %{y:.3f}<extra></extra>",
        )
    )
    if newest:
        fig.update_layout(title=f"Backtest MASE per candidate, v{newest['version']} (lower is better)")
    return _layout(fig, height=300)


def selection_chart(selection: Sequence[SelectionRow]) -> go.Figure:
    counts = Counter(row["model"] for row in selection).most_common()
    fig = go.Figure(
        go.Bar(
            x=[model for model, _ in counts],
            y=[n for _, n in counts],
            marker={"color": ACCENT},
            hovertemplate="%{x}: %{y} series<extra></extra>",
        )
    )
    return _layout(fig, height=300)


def accuracy_chart(points: Sequence[AccuracyPointOut]) -> go.Figure:
    """Live MASE and WAPE of served forecasts over time, version changes visible on hover."""
    ordered = sorted(points, key=lambda p: p["evaluated_at"])
    x = [p["evaluated_at"] for p in ordered]
    versions = [f"v{p['model_version']}" for p in ordered]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[p["mase"] for p in ordered],
            name="MASE",
            mode="lines+markers",
            line={"color": ACCENT},
            customdata=versions,
            hovertemplate="MASE %{y:.3f} (%{customdata})<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[p["wape"] for p in ordered],
            name="WAPE",
            mode="lines+markers",
            line={"color": WARN},
            yaxis="y2",
            hovertemplate="WAPE %{y:.1f}%<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis2={"overlaying": "y", "side": "right", "ticksuffix": "%", "tickformat": ".1f", "showgrid": False}
    )
    fig.add_hline(y=1.0, line_dash="dot", line_color=MUTED, annotation_text="naive (MASE 1)")
    return _single_instant_axis(_layout(fig, height=300))


def _arrived_trace(dates: Sequence[str], values: Sequence[float | None], name: str) -> go.Scatter:
    """Actuals drawn over a forecast: dark and solid with small dots, so each can be read against
    the line (only where they arrived: a gap stays a gap, never a line to zero)."""
    return go.Scatter(
        x=list(dates),
        y=list(values),
        name=name,
        mode="lines+markers",
        line={"color": INK, "width": 1.6},
        marker={"size": 5, "color": INK},
        connectgaps=False,
    )


def forecast_vs_actual_chart(result: ForecastVsActualOut) -> go.Figure:
    """A forecast made earlier, its interval, and the actuals that arrived after its origin."""
    points = result["points"]
    dates = [p["ds"] for p in points]
    fig = go.Figure()
    lower, upper = [p["lower"] for p in points], [p["upper"] for p in points]
    _add_band(fig, dates, lower, upper, result["level"], _BAND_ALPHA[0] + 0.04)
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=[p["yhat"] for p in points],
            name="forecast",
            mode=_line_mode(len(dates)),
            line={"color": ACCENT, "width": 2.2},
        )
    )
    if result["arrived"]:
        fig.add_trace(_arrived_trace(dates, [p["y"] for p in points], "actual (arrived)"))
    return _single_instant_axis(_layout(fig, height=380))


def forecast_vs_actual_rows(result: ForecastVsActualOut) -> list[dict[str, Any]]:
    """Step by step: forecast, interval, actual and the miss (forecast minus actual)."""
    return [
        {
            "ds": p["ds"],
            "forecast": p["yhat"],
            f"lower_{result['level']:g}": p["lower"],
            f"upper_{result['level']:g}": p["upper"],
            "actual": p["y"],
            "error": p["yhat"] - p["y"] if p["y"] is not None else None,
        }
        for p in result["points"]
    ]


def backtest_windows_chart(backtest: BacktestOut) -> go.Figure:
    """Each backtest window's forecast over what happened, a dotted line at each origin."""
    fig = go.Figure()
    actual: dict[str, float] = {}
    for window in backtest["windows"]:
        actual.update((p["ds"], p["y"]) for p in window["points"])
    ordered = sorted(actual)
    fig.add_trace(_arrived_trace(ordered, [actual[d] for d in ordered], "actual"))
    for rank, window in enumerate(backtest["windows"]):
        mase = window["mase"]
        fig.add_trace(
            go.Scatter(
                x=[p["ds"] for p in window["points"]],
                y=[p["yhat"] for p in window["points"]],
                name="backtest forecast",
                legendgroup="forecast",
                showlegend=rank == 0,
                mode=_line_mode(len(window["points"])),
                line={"color": ACCENT, "width": 2.0},
                hovertemplate=f"window {window['window'] + 1}: %{{y:,.1f}}"
                + (f" (MASE {mase:.2f})" if mase is not None else "")
                + "<extra></extra>",
            )
        )
        fig.add_vline(x=window["cutoff"], line_dash="dot", line_color=MUTED, line_width=1)
    return _single_instant_axis(_layout(fig, height=360))


def backtest_rows(backtest: BacktestOut) -> list[dict[str, Any]]:
    """One row per window: where it started and how wrong it was."""
    return [
        {
            "window": w["window"] + 1,
            "fitted to": w["cutoff"],
            "model": w["model"],
            "MASE": w["mase"],
            "sMAPE %": w["smape"],
            "WAPE %": w["wape"],
        }
        for w in backtest["windows"]
    ]
