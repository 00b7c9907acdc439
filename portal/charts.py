"""Plotly figures of the portal, built from API payloads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from portal.theme import ACCENT, INK, MUTED, OK, WARN

_BAND_ALPHA = {0: 0.10, 1: 0.20, 2: 0.28, 3: 0.34, 4: 0.40}


def forecast_frame(item: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for point in item["points"]:
        row = {"series_id": item["series_id"], "ds": point["ds"], "yhat": point["yhat"]}
        for interval in point["intervals"]:
            row[f"lower_{interval['level']:g}"] = interval["lower"]
            row[f"upper_{interval['level']:g}"] = interval["upper"]
        rows.append(row)
    return pd.DataFrame(rows)


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


def forecast_chart(item: dict[str, Any], levels: Sequence[float]) -> go.Figure:
    fig = go.Figure()
    history = item.get("history") or []
    if history:
        fig.add_trace(
            go.Scatter(
                x=[h["ds"] for h in history],
                y=[h["y"] for h in history],
                name="actuals",
                line={"color": MUTED, "width": 1.4},
            )
        )
    dates = [p["ds"] for p in item["points"]]
    # Widest band first so narrower, darker bands sit on top.
    for rank, level in enumerate(sorted(levels, reverse=True)):
        lower = [next(i["lower"] for i in p["intervals"] if i["level"] == level) for p in item["points"]]
        upper = [next(i["upper"] for i in p["intervals"] if i["level"] == level) for p in item["points"]]
        alpha = _BAND_ALPHA.get(rank, 0.4)
        fig.add_trace(go.Scatter(x=dates, y=upper, line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=lower,
                fill="tonexty",
                line={"width": 0},
                name=f"{level:g}% interval",
                fillcolor=f"rgba(79,70,229,{alpha})",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=[p["yhat"] for p in item["points"]],
            name="forecast",
            line={"color": ACCENT, "width": 2.2},
        )
    )
    return _layout(fig)


def drift_features_chart(features: list[dict[str, Any]]) -> go.Figure:
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


def drift_history_chart(history: list[dict[str, Any]], threshold: float | None = None) -> go.Figure:
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
    return _layout(fig, height=260)
