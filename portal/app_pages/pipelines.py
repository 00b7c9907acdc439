"""Pipelines: recent flow runs and their states; engineers start a training run; every dataset's
schedules (engineers pause and resume them); a run's log, and for engineers cancel and retry.

Everything a run or a log line says is text from a flow (a series id, a reason): it is shown
escaped (tables.table) or as code, never as Markdown or HTML.
"""

import html
from collections import Counter
from typing import Any

import streamlit as st

from portal import tables, theme
from portal.guard import call
from portal.state import client, require

CANCELLABLE = {"SCHEDULED", "PENDING", "RUNNING", "PAUSED"}  # as orchestration.prefect_api says
RETRYABLE = {"FAILED", "CRASHED", "CANCELLED"}
LOG_PAGE = 100


def link(url: Any) -> str:
    """A link to Prefect's UI (an http(s) address the API built from its settings)."""
    return tables.Html(
        f'<a href="{html.escape(str(url))}" target="_blank" rel="noopener noreferrer">open</a>'
    )


def flash(message: str) -> None:
    st.session_state["pipelines_flash"] = message
    st.rerun()


session = require("viewer")
theme.header("Pipelines", "Training, monitoring and forecasting flow runs, newest first.")
api = client()
if message := st.session_state.pop("pipelines_flash", None):
    st.success(message, icon=":material/rocket_launch:")

runs = call(lambda: api.pipeline_runs(limit=20), "Pipeline runs")
linked = any(r["prefect_url"] for r in runs or [])
if runs is not None and not runs:
    st.info("No flow has run yet.", icon=":material/hourglass_empty:")
elif runs:
    counts = Counter(r["state"] for r in runs).most_common(4)
    for column, (state, count) in zip(st.columns(len(counts)), counts, strict=True):
        column.metric(state.title(), count)
    tables.table(
        "runs",
        runs,
        columns=["name", "flow", "dataset", "state", "started_at", "ended_at", "duration_seconds"]
        + (["prefect_url"] if linked else []),
        formats={
            "state": tables.badge,
            "started_at": tables.timestamp,
            "ended_at": tables.timestamp,
            "duration_seconds": tables.number(1),
            "prefect_url": link,
        },
        labels={
            "started_at": "started",
            "ended_at": "ended",
            "duration_seconds": "duration (s)",
            "prefect_url": "Prefect",
        },
    )
    st.button("Refresh", icon=":material/refresh:")

st.subheader("Train a model")
if not session.can("engineer"):
    st.caption("Engineers start training runs from here.")
else:
    # The platform's datasets by name (YAML specs and added ones), never a dataset as a run was
    # given it (a spec's path on the server).
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
                    flash(
                        f"Training of {started['dataset']} started: flow run {started['flow_run_id']} "
                        f"({started['state'].lower()})."
                    )

if runs is None:
    st.stop()  # Prefect (or the route) is not there: the sections below would only repeat why

st.subheader("Schedules")
schedules = call(api.schedules, "Schedules")
if schedules is not None and not schedules:
    st.info("No dataset's deployments are served yet: is the worker running?", icon=":material/schedule:")
elif schedules:
    rows = [{**s, "status": "paused" if s["paused"] else "active"} for s in schedules]
    tables.table(
        "schedules",
        rows,
        columns=["dataset", "flow", "schedule", "status", "next_run_at"]
        + (["prefect_url"] if any(s["prefect_url"] for s in schedules) else []),
        formats={
            "status": tables.badge,
            "next_run_at": tables.timestamp,
            "prefect_url": link,
        },
        labels={"next_run_at": "next run (UTC)", "prefect_url": "Prefect"},
    )
    st.caption("A deployment without a schedule runs only when started (no schedule: –).")
    scheduled = {f"{s['flow']}/{s['dataset']}": s for s in schedules if s["schedule"]}
    if session.can("engineer") and scheduled:
        pick, act = st.columns([3, 1], vertical_alignment="bottom")
        chosen = scheduled[pick.selectbox("Scheduled deployment", list(scheduled), key="schedule_pick")]
        label = "Resume schedule" if chosen["paused"] else "Pause schedule"
        if act.button(label, icon=":material/play_arrow:" if chosen["paused"] else ":material/pause:"):
            changed = call(
                lambda: api.set_schedule_paused(chosen["flow"], chosen["dataset"], not chosen["paused"]),
                "Pausing schedules",
            )
            if changed:
                flash(
                    f"Schedule of {changed['flow']}/{changed['dataset']} "
                    + ("paused." if changed["paused"] else "resumed.")
                )

if not runs:
    st.stop()
st.subheader("Run details")
by_label = {f"{r['name']} · {r['flow']} · {r['dataset'] or '–'} · {r['state'].lower()}": r for r in runs}
run = by_label[st.selectbox("Run", list(by_label), key="run_pick")]
tables.table(
    "run",
    [run],
    columns=["name", "flow", "dataset", "state", "message"],
    formats={"state": tables.badge},
    labels={"message": "reason"},
)
buttons = st.columns(3)
if url := run["prefect_url"]:
    buttons[0].link_button("Open in Prefect", url, icon=":material/open_in_new:")
if session.can("engineer"):
    if run["state"] in CANCELLABLE and buttons[1].button("Cancel run", icon=":material/cancel:"):
        cancelled = call(lambda: api.cancel_run(run["id"]), "Cancelling runs")
        if cancelled:
            flash(f"Flow run {cancelled['name']}: {cancelled['state'].lower()}.")
    if run["state"] in RETRYABLE and buttons[2].button("Retry run", icon=":material/replay:"):
        retried = call(lambda: api.retry_run(run["id"]), "Retrying runs")
        if retried:
            flash(f"Retrying {run['name']}: new flow run {retried['name']} ({retried['state'].lower()}).")

offsets: dict[str, int] = st.session_state.setdefault("log_offsets", {})
offset = offsets.get(run["id"], 0)
page = call(lambda: api.run_logs(run["id"], offset=offset, limit=LOG_PAGE), "Run logs")
if page is not None:
    if page["lines"]:
        tables.table(
            "logs",
            page["lines"],
            columns=["timestamp", "level", "message"],
            formats={"timestamp": lambda v: str(v)[11:19]},
            labels={"timestamp": "time (UTC)"},
        )
    else:
        st.caption("No log lines yet." if offset == 0 else "No more log lines.")
    earlier, later = st.columns(2)
    if offset > 0 and earlier.button("Earlier lines", icon=":material/arrow_upward:"):
        offsets[run["id"]] = max(0, offset - LOG_PAGE)
        st.rerun()
    if page["next_offset"] is not None and later.button("Later lines", icon=":material/arrow_downward:"):
        offsets[run["id"]] = page["next_offset"]
        st.rerun()
