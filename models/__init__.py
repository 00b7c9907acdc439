"""The forecasting engine: a pure core (DataFrames in, DataFrames and dataclasses out).

Nothing here imports MLflow, Prefect, FastAPI or Streamlit; flows, the API and the portal call
in, and the registry (registry/) keeps its results. code_version() hashes this folder.
"""
