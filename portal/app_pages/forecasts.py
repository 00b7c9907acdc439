"""Forecasts: pick a model and a series, see history, forecast and intervals; download them."""

import plotly.graph_objects as go
import streamlit as st

from portal import charts, tables, theme
from portal.guard import call
from portal.state import client, require

require("viewer")
theme.header("Forecasts", "The champion's forecast with its prediction intervals.")
api = client()
models = call(api.models) or []
served = [m for m in models if m["serving_version"] and m["max_horizon"]]
if not served:
    st.info(
        "No model is being served yet. Train one with `astralytiq train <dataset>`.",
        icon=":material/hourglass_empty:",
    )
    st.stop()

by_name = {m["name"]: m for m in served}
left, middle, right = st.columns([2, 2, 3])
name = left.selectbox("Model", sorted(by_name))
max_horizon = by_name[name]["max_horizon"] or 1
series = call(lambda: api.series(name)) or []
if not series:
    st.stop()
series_id = middle.selectbox("Series", series)
levels = right.multiselect("Intervals (%)", [50, 80, 90, 95, 99], default=[80, 95])
if not levels:
    st.info("Pick at least one interval level to see the forecast's bands.", icon=":material/tune:")
horizon = st.slider("Horizon (steps ahead)", 1, max_horizon, max_horizon)

result = call(lambda: api.forecast(name, [series_id], horizon, [float(v) for v in levels]))
if result is None:
    st.stop()
item = result["forecasts"][0]
rows = charts.forecast_rows(item)

c1, c2, c3 = st.columns(3)
c1.metric("Version", f"v{result['version']}")
c2.metric("Selected model", item["selected_model"])
c3.metric(f"Total over {horizon} steps", f"{sum(r['yhat'] for r in rows):,.0f}")

fig: go.Figure = charts.forecast_chart(item, levels)
st.plotly_chart(fig, width="stretch")

with st.expander("Table", expanded=False):
    tables.table(
        "forecast", rows, formats={c: tables.number(1) for c in rows[0] if c not in ("series_id", "ds")}
    )
st.download_button(
    "Download CSV",
    tables.to_csv(rows),
    file_name=f"{name}-{series_id}-v{result['version']}.csv",
    mime="text/csv",
    icon=":material/download:",
)
