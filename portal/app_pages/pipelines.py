"""Pipelines: recent flow runs and their states; engineers start a training run."""

from collections import Counter

import streamlit as st

from portal import tables, theme
from portal.guard import call
from portal.state import client, require

session = require("viewer")
theme.header("Pipelines", "Training and monitoring flow runs, newest first.")
api = client()
if flash := st.session_state.pop("pipelines_flash", None):
    st.success(flash, icon=":material/rocket_launch:")

runs = call(lambda: api.pipeline_runs(limit=20), "Pipeline runs")
if runs is not None and not runs:
    st.info("No flow has run yet.", icon=":material/hourglass_empty:")
elif runs:
    counts = Counter(r["state"] for r in runs).most_common(4)
    for column, (state, count) in zip(st.columns(len(counts)), counts, strict=True):
        column.metric(state.title(), count)
    tables.table(
        "runs",
        runs,
        columns=["name", "flow", "dataset", "state", "started_at", "ended_at", "duration_seconds"],
        formats={
            "state": tables.badge,
            "started_at": tables.timestamp,
            "ended_at": tables.timestamp,
            "duration_seconds": tables.number(1),
        },
        labels={"started_at": "started", "ended_at": "ended", "duration_seconds": "duration (s)"},
    )
    st.button("Refresh", icon=":material/refresh:")

st.subheader("Train a model")
if not session.can("engineer"):
    st.caption("Engineers start training runs from here.")
    st.stop()
# The platform's datasets by name (YAML specs and added ones), never a dataset as a run was given
# it (a spec's path on the server).
known = [d["name"] for d in call(api.datasets, "Datasets") or []]
with st.form("train"):
    dataset = st.selectbox(
        "Dataset", known, accept_new_options=True, help="A dataset by name (see the Datasets page)."
    )
    if st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:"):
        if not dataset:
            st.warning("Name the dataset to train.")
        else:
            started = call(lambda: api.train(dataset), "Starting a training run")
            if started:
                st.session_state["pipelines_flash"] = (
                    f"Training of {started['dataset']} started: flow run {started['flow_run_id']} "
                    f"({started['state'].lower()})."
                )
                st.rerun()
