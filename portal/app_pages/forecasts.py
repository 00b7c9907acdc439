"""Forecasts: pick a model and a series, see history, forecast and intervals; download them;
see how a forecast made earlier did against the actuals that arrived after it."""

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

st.subheader("Forecast vs actual")
snapshots = call(lambda: api.snapshots(name), feature="Forecast vs actual")
if snapshots is None:
    st.stop()
# The served version as trained first (what it forecast from its training cutoff), then what the
# forecast flow published since, newest first. Only snapshots some actual has arrived after are
# offered: the served one starts after the newest actual, and so does any earlier snapshot
# published from the same actuals (a monitor run that found nothing new).
newest_actual = next((s["actuals_end"] for s in snapshots if s["served"]), None)
made: list[int | None] = [
    None,
    *(s["id"] for s in snapshots if newest_actual is not None and s["origin"] <= newest_actual),
]
by_id = {s["id"]: s for s in snapshots}
served_version = result["version"]


def describe(snapshot_id: int | None) -> str:
    if snapshot_id is None:
        return f"v{served_version} as trained"
    made_by = by_id[snapshot_id]
    return f"snapshot {snapshot_id} of v{made_by['model_version']}, from {made_by['origin']}"


left, right = st.columns([3, 1])
chosen = left.selectbox("Forecast made", made, format_func=describe)
band = right.selectbox("Interval (%)", [80, 95, 50, 90], key="vs_level")
review = call(
    lambda: api.forecast_vs_actual(name, series_id, chosen, float(band)), feature="Forecast vs actual"
)
if review is None:
    st.stop()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Made from", review["origin"])
c2.metric("Actuals arrived", f"{review['arrived']} of {len(review['points'])}")
c3.metric("WAPE", f"{review['wape']:.1f}%" if review["wape"] is not None else "n/a")
c4.metric(f"Inside the {band}% band", f"{review['inside']:.0%}" if review["inside"] is not None else "n/a")
if not review["arrived"]:
    st.info(
        f"No actual after {review['origin']} has arrived yet (the newest is "
        f"{review['actuals_end'] or 'not known'}). Pick an earlier forecast, or wait for the next monitor run.",
        icon=":material/hourglass_empty:",
    )
st.plotly_chart(charts.forecast_vs_actual_chart(review), width="stretch")
with st.expander("Forecast and actual, step by step", expanded=False):
    numbers = ("forecast", f"lower_{band:g}", f"upper_{band:g}", "actual", "error")
    tables.table(
        "forecast_vs_actual",
        charts.forecast_vs_actual_rows(review),
        formats={c: tables.number(1) for c in numbers},
    )
