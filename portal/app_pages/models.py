"""Models: registered versions, their aliases and backtest scores, and per-series selection."""

import pandas as pd
import plotly.express as px
import streamlit as st

from portal import theme
from portal.guard import call
from portal.state import client

theme.header("Models", "Versions in the registry, how they scored in backtests, and what each series uses.")
api = client()
models = call(api.models) or []
if not models:
    st.info("No models registered yet.", icon=":material/hourglass_empty:")
    st.stop()
name = st.selectbox("Model", sorted(m["name"] for m in models))
detail = call(lambda: api.model(name))
if detail is None:
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Champion", f"v{detail['champion_version']}" if detail["champion_version"] else "none")
c2.metric("Serving", f"v{detail['serving_version']}" if detail["serving_version"] else "none")
c3.metric("Series", detail.get("series_count") or 0)
c4.metric("Max horizon", detail.get("max_horizon") or 0)

rows = []
for v in detail["versions"]:
    m = v["metrics"]
    rows.append(
        {
            "version": f"v{v['version']}",
            "aliases": ", ".join(v["aliases"]),
            "created": v["created_at"][:16],
            "MASE": m.get("backtest_mase"),
            "sMAPE": m.get("backtest_smape"),
            "WAPE": m.get("backtest_wape"),
            "coverage 95%": m.get("backtest_coverage_95"),
            "gate": v.get("gate") or "",
        }
    )
st.subheader("Versions")
st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)

if detail["selection"]:
    st.subheader("Model chosen per series")
    counts = pd.DataFrame(detail["selection"]).value_counts("model").rename("series").reset_index()
    fig = px.bar(counts, x="model", y="series", color_discrete_sequence=[theme.ACCENT])
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(255,255,255,0.55)",
    )
    st.plotly_chart(fig, use_container_width=True)
