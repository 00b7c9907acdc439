"""Model health: the alerts firing now, drift of the newest actuals, live accuracy of served
forecasts, and the API's latency and throughput."""

import time

import streamlit as st

from portal import charts, sandbox, service_metrics, tables, theme
from portal.guard import call
from portal.state import client, require

require("viewer")
theme.header("Model health", "Drift, live accuracy, and how fast the API answers.")
api = client()

# Alertmanager's firing alerts, as the API's webhook receiver stored them. Every label is text
# from the data (a model or series name): the table escapes it, nothing here renders markdown.
alerts = call(api.firing_alerts, "Alerts")
if alerts is not None and not alerts["alerts"]:
    st.success("No alert is firing.", icon=":material/notifications_off:")
elif alerts is not None:
    st.subheader(f"Firing alerts ({len(alerts['alerts'])})")
    tables.table(
        "alerts",
        [
            {
                "alert": a["alertname"],
                "severity": a["severity"],
                "model": a["model"],
                "summary": a["summary"] or a["description"],
                "since": a["starts_at"],
            }
            for a in alerts["alerts"]
        ],
        formats={"since": tables.timestamp, "severity": tables.badge},
    )
    st.caption("From Alertmanager; an alert leaves this list when Alertmanager reports it resolved.")

models = call(api.models) or []
if not models:
    st.info("No models registered yet.", icon=":material/hourglass_empty:")
    st.stop()
name = st.selectbox("Model", sorted(m["name"] for m in models))
drift_tab, accuracy_tab, service_tab = st.tabs(["Drift", "Live accuracy", "Latency and throughput"])

with drift_tab:
    drift = call(lambda: api.drift(name), "Drift monitoring")
    latest = drift["latest"] if drift else None
    if drift is not None and latest is None:
        st.info(
            "No drift check has run for this model yet (`astralytiq monitor <dataset>`).",
            icon=":material/hourglass_empty:",
        )
    if drift is not None and latest is not None:
        drifted = [f for f in latest["features"] if f["drifted"]]
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Drifted share", f"{latest['drift_share']:.0%}")
        c2.metric("Drifted features", f"{len(drifted)} of {len(latest['features'])}")
        c3.metric("Status", "Drift" if latest["dataset_drift"] else "Stable")
        c4.metric("Checked version", f"v{latest['model_version']}")
        st.caption(
            f"Reference (training window) {latest['reference_start'][:10]} to "
            f"{latest['reference_end'][:10]}; current {latest['current_start'][:10]} to "
            f"{latest['current_end'][:10]}."
        )
        left, right = st.columns([3, 2])
        with left:
            st.subheader("Per feature")
            st.plotly_chart(charts.drift_features_chart(latest["features"]), width="stretch")
        with right:
            st.subheader("Over time")
            st.plotly_chart(charts.drift_history_chart(drift["history"]), width="stretch")
        # Loaded on demand: an Evidently report is megabytes of HTML the page need not carry.
        if st.toggle("Show the full Evidently report", key="show_evidently"):
            report_id = int(latest["id"])
            html = call(lambda: api.drift_report_html(name, report_id), "The Evidently report")
            if html:  # in a sandbox of its own: the report's scripts cannot reach the portal
                st.iframe(sandbox.sandboxed(html), height=900)

with accuracy_tab:
    accuracy = call(lambda: api.accuracy(name), "Live accuracy")
    if accuracy is not None and not accuracy["points"]:
        st.info(
            "No served forecast has been scored yet: accuracy appears once actuals arrive for "
            "dates the model forecast.",
            icon=":material/hourglass_empty:",
        )
    elif accuracy is not None:
        newest = max(accuracy["points"], key=lambda p: p["evaluated_at"])
        c1, c2, c3, c4 = st.columns(4)
        mase, wape = newest["mase"], newest["wape"]
        c1.metric(
            "Live MASE",
            f"{mase:.3f}" if mase is not None else "n/a",
            help="Below 1 beats a seasonal naive forecast.",
        )
        c2.metric("Live WAPE", f"{wape:.1f}%" if wape is not None else "n/a")
        for column, level in ((c3, "80"), (c4, "95")):
            if level in newest["coverage"]:
                column.metric(f"{level}% interval coverage", f"{newest['coverage'][level]:.0%}")
        st.caption(
            f"Newest evaluation: v{newest['model_version']}, actuals {newest['window_start']} to "
            f"{newest['window_end']}, {newest['n_series']} series, {newest['n_points']} points."
        )
        st.plotly_chart(charts.accuracy_chart(accuracy["points"]), width="stretch")

with service_tab:
    text = call(api.metrics_text, "The API's metrics")
    if text is not None:
        now = time.monotonic()
        snap = service_metrics.snapshot(text)
        previous = st.session_state.get("metrics_snapshot")
        st.session_state["metrics_snapshot"] = (now, snap)
        recent = service_metrics.rate(previous[1], snap, now - previous[0]) if previous else None
        uptime = time.time() - snap.started_at if snap.started_at else None
        for column, card in zip(st.columns(4), service_metrics.cards(snap, uptime, recent), strict=True):
            column.metric(card.label, card.value, help=card.help)
        st.button("Refresh", icon=":material/refresh:")
        if snap.routes:
            tables.table(
                "latency",
                [
                    {
                        "route": r.route,
                        "requests": int(r.requests),
                        "5xx": int(r.errors),
                        "p50 ms": r.p50_ms,
                        "p95 ms": r.p95_ms,
                        "p99 ms": r.p99_ms,
                    }
                    for r in snap.routes
                ],
                formats={c: tables.number(1) for c in ("p50 ms", "p95 ms", "p99 ms")},
            )
            st.caption("Latency quantiles from the API's histogram buckets since it started.")
