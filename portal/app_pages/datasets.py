"""Datasets: the ones the platform knows; engineers add one by uploading its data."""

import streamlit as st

from portal import tables, theme
from portal.guard import call
from portal.state import client, require

session = require("viewer")
theme.header("Datasets", "YAML specs and datasets added at run time; engineers add one here.")
api = client()
if flash := st.session_state.pop("datasets_flash", None):
    st.success(flash, icon=":material/upload_file:")

known = call(api.datasets, "Datasets")
if known:
    tables.table("datasets", known, columns=["name", "kept"], labels={"kept": "kept as"})

st.subheader("Add a dataset")
if not session.can("engineer"):
    st.caption("Engineers add datasets from here.")
    st.stop()
st.caption(
    "Upload a CSV or Parquet file in long format (one row per series and timestamp). Leave the "
    "frequency, season length and horizon empty to have them proposed from the data; a contract "
    "is proposed too. The data is checked on the worker and stored only if it passes."
)
with st.form("add_dataset"):
    name = st.text_input("Name", placeholder="shop_sales", help="Lower-case letters, digits and _.")
    upload = st.file_uploader("Data", type=["csv", "gz", "parquet"])
    left, middle, right = st.columns(3)
    series_id = left.text_input("Series id column", value="series_id")
    ds = middle.text_input("Timestamp column", value="ds")
    y = right.text_input("Value column", value="y")
    left, middle, right = st.columns(3)
    frequency = left.text_input("Frequency", placeholder="proposed (D, W-SUN, MS, h ...)")
    season = middle.number_input("Season length", min_value=0, value=0, help="0: proposed")
    horizon = right.number_input("Horizon", min_value=0, value=0, help="0: proposed")
    if st.form_submit_button("Check and add", type="primary", icon=":material/upload:"):
        if not name or upload is None:
            st.warning("Give the dataset a name and choose its data file.")
        else:
            fields = {
                "series_id": series_id,
                "ds": ds,
                "y": y,
                "frequency": frequency.strip(),
                "season_length": str(int(season)) if season else "",
                "horizon": str(int(horizon)) if horizon else "",
            }
            filename, content = upload.name, upload.getvalue()
            submitted = call(
                lambda: api.add_dataset(name.strip(), filename, content, fields),
                "Adding a dataset",
            )
            if submitted:
                st.session_state["datasets_flash"] = (
                    f"Checking {submitted['dataset']}: flow run {submitted['flow_run_id']}. It is listed here "
                    "once its data passes; the Pipelines page shows the run and why it failed if it does."
                )
                st.rerun()
