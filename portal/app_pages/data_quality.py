"""Data quality: the latest data-contract checks, each rule's verdict, and the GX Data Docs."""

import streamlit as st

from portal import sandbox, tables, theme
from portal.api_types import ContractRunOut
from portal.guard import call
from portal.state import client, require

require("viewer")
theme.header("Data quality", "Every dataset is checked against its contract before training.")
api = client()
reports = call(lambda: api.contract_reports(limit=50), "Contract reports")
if reports is None:
    st.stop()
if not reports:
    st.info(
        "No contract check is recorded yet (`astralytiq validate <dataset>` or a training run).",
        icon=":material/hourglass_empty:",
    )
    st.stop()

latest_by_dataset: dict[str, ContractRunOut] = {}
for report in reports:  # newest first
    latest_by_dataset.setdefault(report["dataset"], report)
columns = st.columns(min(4, len(latest_by_dataset)))
for i, (dataset, report) in enumerate(sorted(latest_by_dataset.items())):
    verdict = "passed" if report["status"] == "passed" else f"failed ({report['failures'] or '?'} rules)"
    columns[i % len(columns)].metric(dataset, verdict, help=f"Checked {report['started_at'][:16]}")

st.subheader("Recent checks")
tables.table(
    "checks",
    reports,
    columns=["started_at", "dataset", "status", "stage", "rules", "failures", "model_version"],
    formats={"started_at": tables.timestamp, "status": tables.badge},
    labels={"started_at": "checked", "model_version": "model version"},
)

labels = {
    r["run_id"]: f"{r['dataset']} · {r['status']} · {tables.timestamp(r['started_at'])}" for r in reports
}
run_id = st.selectbox("Report", list(labels), format_func=labels.__getitem__)
detail = call(lambda: api.contract_report(run_id), "The contract report")
if detail is None:
    st.stop()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Verdict", detail["status"])
c2.metric("Rows", f"{detail['rows']:,}" if detail["rows"] is not None else "n/a")
c3.metric("Series", detail["series"] if detail["series"] is not None else "n/a")
c4.metric("Quarantined rows", detail["quarantined"])
if detail["summary"]:
    st.code(detail["summary"], language=None)
if detail["results"]:
    tables.table(
        "rules",
        [{"verdict": "passed" if r["success"] else "failed", **r} for r in detail["results"]],
        columns=["verdict", "rule", "column", "expectation", "unexpected", "message"],
        formats={"verdict": tables.badge},
    )

if (docs_url := detail["docs_url"]) is not None:
    docs: str = docs_url
    if st.toggle("Show the Great Expectations Data Docs", key="show_docs"):  # on demand: large HTML
        html = call(lambda: api.contract_docs_html(docs), "The Data Docs")
        if html:  # in a sandbox of its own: the docs' scripts cannot reach the portal
            st.iframe(sandbox.sandboxed(html, sandbox.DOCS_POLICY), height=800)
