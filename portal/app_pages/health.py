"""Model health: how far the newest actuals drifted from what the champion was trained on."""

import streamlit as st
import streamlit.components.v1 as components

from portal import charts, theme
from portal.guard import call
from portal.state import client

theme.header("Model health", "Drift of the newest actuals against the champion's training window.")
api = client()
models = call(api.models) or []
if not models:
    st.info("No models registered yet.", icon=":material/hourglass_empty:")
    st.stop()
name = st.selectbox("Model", sorted(m["name"] for m in models))
drift = call(lambda: api.drift(name))
if drift is None:
    st.stop()
latest = drift.get("latest")
if latest is None:
    st.info(
        "No drift check has run for this model yet (`astralytiq monitor <dataset>`).",
        icon=":material/hourglass_empty:",
    )
    st.stop()

drifted = [f for f in latest["features"] if f["drifted"]]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Drifted share", f"{latest['drift_share']:.0%}")
c2.metric("Drifted features", f"{len(drifted)} of {len(latest['features'])}")
c3.metric("Status", "Drift" if latest["dataset_drift"] else "Stable")
c4.metric("Checked version", f"v{latest['model_version']}")
st.caption(
    f"Reference (training window) {latest['reference_start'][:10]} to {latest['reference_end'][:10]}; "
    f"current {latest['current_start'][:10]} to {latest['current_end'][:10]}."
)

left, right = st.columns([3, 2])
with left:
    st.subheader("Per feature")
    st.plotly_chart(charts.drift_features_chart(latest["features"]), use_container_width=True)
with right:
    st.subheader("Over time")
    st.plotly_chart(charts.drift_history_chart(drift["history"]), use_container_width=True)

with st.expander("Full Evidently report"):
    report_id = int(latest["id"])
    html = call(lambda: api.drift_report_html(name, report_id))
    if html:
        components.html(html, height=900, scrolling=True)
