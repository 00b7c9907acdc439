"""Models: registered versions, their aliases and backtest scores, per-series selection, a series'
backtest windows, two versions side by side; engineers promote a version to champion or roll back."""

import streamlit as st

from portal import charts, tables, theme
from portal.api_types import VersionOut
from portal.guard import call
from portal.state import client, require

session = require("viewer")
theme.header("Models", "Versions in the registry, how they scored in backtests, and what each series uses.")
api = client()
if flash := st.session_state.pop("models_flash", None):
    st.success(flash, icon=":material/check_circle:")
models = call(api.models) or []
if not models:
    st.info("No models registered yet.", icon=":material/hourglass_empty:")
    st.stop()
summaries = {m["name"]: m for m in models}
name = st.selectbox("Model", sorted(summaries))
detail = call(lambda: api.model(name))
if detail is None:
    st.stop()
# The model list carries the registry's aliases; a version's own alias list can come back empty
# (MLflow's version search does not return aliases), so the list's word is taken for both.
aliases = summaries[name]["aliases"] or detail["aliases"]
detail["champion_version"] = aliases.get("champion") or detail["champion_version"]
for v in detail["versions"]:
    v["aliases"] = sorted({*v["aliases"], *(a for a, version in aliases.items() if version == v["version"])})

c1, c2, c3, c4 = st.columns(4)
c1.metric("Champion", f"v{detail['champion_version']}" if detail["champion_version"] else "none")
c2.metric("Serving", f"v{detail['serving_version']}" if detail["serving_version"] else "none")
c3.metric("Series", detail["series_count"] or 0)
c4.metric("Max horizon", detail["max_horizon"] or 0)
if detail["load_error"]:
    st.warning(f"The champion is not the version served: {detail['load_error']}", icon=":material/warning:")

versions = detail["versions"]
by_version: dict[str, VersionOut] = {v["version"]: v for v in versions}
st.subheader("Versions")
tables.table("versions", charts.versions_rows(versions))
st.plotly_chart(charts.backtest_chart(versions), width="stretch")

if detail["selection"]:
    st.subheader("Model chosen per series")
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.selection_chart(detail["selection"]), width="stretch")
    with right:
        tables.table("selection", detail["selection"])

if detail["selection"] and detail["serving_version"]:
    st.subheader("Backtest windows")
    st.caption(
        f"What v{detail['serving_version']} forecast for a series from each rolling origin of its "
        "training backtest (dotted lines), against what happened."
    )
    picked = st.selectbox("Series", [row["series_id"] for row in detail["selection"]], key="backtest_series")
    backtest = call(lambda: api.backtest(name, picked), feature="Backtest windows") if picked else None
    if backtest is not None and not backtest["windows"]:
        st.info(
            "This series' model was a fallback that was not backtested: there are no windows to show.",
            icon=":material/info:",
        )
    elif backtest is not None:
        st.plotly_chart(charts.backtest_windows_chart(backtest), width="stretch")
        tables.table(
            "backtest_windows",
            charts.backtest_rows(backtest),
            formats={"MASE": tables.number(3), "sMAPE %": tables.number(1), "WAPE %": tables.number(1)},
        )

if len(versions) >= 2:
    st.subheader("Compare two versions")
    labels = list(by_version)
    left, right = st.columns(2)
    first = left.selectbox("Version", labels, index=1, format_func=lambda v: f"v{v}", key="cmp_a")
    second = right.selectbox("against", labels, index=0, format_func=lambda v: f"v{v}", key="cmp_b")
    comparison = charts.comparison_rows(by_version[first], by_version[second])
    if first == second:
        st.caption("Pick two different versions.")
    elif not comparison:
        st.caption("Neither version has backtest metrics to compare.")
    else:
        tables.table("comparison", comparison, formats={"difference": lambda v: f"{v:+.3f}"})

st.subheader("Champion")
if not session.can("engineer"):
    st.caption("Engineers promote a version to champion or roll back; you can see the history above.")
    st.stop()

promote_tab, rollback_tab = st.tabs(["Promote a version", "Roll back"])
with promote_tab, st.form("promote"):
    candidates = [v for v in by_version if v != detail["champion_version"]]
    version = st.selectbox("Version to make champion", candidates, format_func=lambda v: f"v{v}")
    reason = st.text_input("Reason (kept in the audit log)", key="promote_reason")
    if st.form_submit_button("Promote", type="primary", disabled=not candidates):
        if not reason.strip():
            st.warning("Say why, for the audit log.")
        elif version is not None:
            change = call(lambda: api.promote(name, version, reason.strip()))
            if change:
                st.session_state["models_flash"] = (
                    f"v{change['champion_version']} of {name} is the champion and is served "
                    f"(loaded in {change['load_seconds']:.2f} s; was v{change['previous_version']})."
                )
                st.rerun()
with rollback_tab, st.form("rollback"):
    earlier = ["previous champion"] + [v for v in by_version if v != detail["champion_version"]]
    target = st.selectbox("Return to", earlier, format_func=lambda v: v if not v.isdigit() else f"v{v}")
    why = st.text_input("Reason (kept in the audit log)", key="rollback_reason")
    if st.form_submit_button("Roll back", disabled=not detail["champion_version"]):
        if not why.strip():
            st.warning("Say why, for the audit log.")
        else:
            pinned = target if target and target.isdigit() else None
            change = call(lambda: api.rollback(name, why.strip(), pinned))
            if change:
                st.session_state["models_flash"] = (
                    f"Rolled back {name} from v{change['previous_version']} to "
                    f"v{change['champion_version']}, now served."
                )
                st.rerun()
